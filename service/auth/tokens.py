"""JWT access and refresh tokens.

Both are HS256 JWTs with issuer, audience, expiry, a unique id and a `typ` claim; decoding names
the one accepted algorithm (so `alg: none` and algorithm confusion are refused) and the expected
`typ` (so a refresh token is never accepted as an access token, nor the reverse).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt

from service.core.config import Settings
from service.core.db import utcnow

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or of the wrong type."""


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    jti: str
    typ: TokenType
    expires_at: datetime
    family_id: str | None = None


def encode(
    settings: Settings,
    *,
    user_id: int,
    typ: TokenType,
    lifetime: timedelta,
    family_id: str | None = None,
) -> tuple[str, TokenClaims]:
    now = utcnow()
    claims = TokenClaims(
        user_id=user_id,
        jti=str(uuid.uuid4()),
        typ=typ,
        expires_at=now + lifetime,
        family_id=family_id,
    )
    payload: dict[str, object] = {
        "sub": str(user_id),
        "jti": claims.jti,
        "typ": typ,
        "iat": now,
        "nbf": now,
        "exp": claims.expires_at,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    if family_id is not None:
        payload["fam"] = family_id
    token = jwt.encode(payload, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    return token, claims


def decode(settings: Settings, token: str, *, expected: TokenType) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(str(exc)) from exc
    if payload.get("typ") != expected:
        raise InvalidTokenError(f"expected a {expected} token")
    try:
        user_id = int(payload["sub"])
    except (TypeError, ValueError) as exc:
        raise InvalidTokenError("malformed subject") from exc
    family = payload.get("fam")
    if expected == "refresh" and not isinstance(family, str):
        raise InvalidTokenError("refresh token without a family")
    return TokenClaims(
        user_id=user_id,
        jti=str(payload["jti"]),
        typ=expected,
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        family_id=family if isinstance(family, str) else None,
    )
