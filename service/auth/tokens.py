"""JWT access, refresh and e-mail confirmation tokens.

All are HS256 JWTs with issuer, audience, expiry, a unique id, a `typ` claim and the user's token
version (`ver`); decoding names the one accepted algorithm (so `alg: none` and algorithm confusion
are refused) and the expected `typ` (so a refresh token is never accepted as an access token, nor
the reverse). Every claim is checked for shape before it reaches the database, so no token
content, forged or not, can cause anything but a 401; the reason is logged, never answered.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt

from service.core.config import Settings
from service.core.db import utcnow

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
# "email": confirms a new address of an account; "signup": confirms a new account's address.
TokenType = Literal["access", "refresh", "email", "signup"]
# Ids are 32-bit integer columns; a `sub` outside this never names a user.
MAX_ID = 2**31 - 1
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ID = re.compile(r"[1-9][0-9]{0,9}")


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or of the wrong type (the message is for logs)."""


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    jti: str
    typ: TokenType
    version: int
    expires_at: datetime
    family_id: str | None = None
    email: str | None = None


def encode(
    settings: Settings,
    *,
    user_id: int,
    typ: TokenType,
    version: int,
    lifetime: timedelta,
    family_id: str | None = None,
    email: str | None = None,
    not_after: datetime | None = None,
) -> tuple[str, TokenClaims]:
    now = utcnow()
    expires_at = now + lifetime if not_after is None else min(now + lifetime, not_after)
    claims = TokenClaims(
        user_id=user_id,
        jti=str(uuid.uuid4()),
        typ=typ,
        version=version,
        expires_at=expires_at,
        family_id=family_id,
        email=email,
    )
    payload: dict[str, object] = {
        "sub": str(user_id),
        "jti": claims.jti,
        "typ": typ,
        "ver": version,
        "iat": now,
        "nbf": now,
        "exp": claims.expires_at,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    if family_id is not None:
        payload["fam"] = family_id
    if email is not None:
        payload["email"] = email
    token = jwt.encode(payload, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    return token, claims


def decode(settings: Settings, token: str, *, expected: TokenType) -> TokenClaims:
    try:
        return _decode(settings, token, expected)
    except InvalidTokenError as exc:
        log.info("token refused", extra={"expected": expected, "reason": str(exc)[:200]})
        raise


def _decode(settings: Settings, token: str, expected: TokenType) -> TokenClaims:
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
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
        raise InvalidTokenError(f"{type(exc).__name__}: {exc}") from exc
    if payload.get("typ") != expected:
        raise InvalidTokenError(f"expected a {expected} token")
    sub, jti, version = payload.get("sub"), payload.get("jti"), payload.get("ver")
    if not isinstance(sub, str) or not _ID.fullmatch(sub) or int(sub) > MAX_ID:
        raise InvalidTokenError("malformed subject")
    if not isinstance(jti, str) or not _UUID.fullmatch(jti):
        raise InvalidTokenError("malformed token id")
    # bool is an int in Python; a JSON `true` is not a version.
    if type(version) is not int or not 0 <= version <= MAX_ID:
        raise InvalidTokenError("missing or malformed token version")
    family = payload.get("fam")
    # Access and refresh tokens name their login (the refresh family), so a logout ends both.
    confirms_address = expected in ("email", "signup")
    if not confirms_address and not (isinstance(family, str) and _UUID.fullmatch(family)):
        raise InvalidTokenError(f"{expected} token without a valid family")
    email = payload.get("email")
    if confirms_address and not (isinstance(email, str) and 0 < len(email) <= 320):
        raise InvalidTokenError("confirmation token without an e-mail")
    expiry = payload["exp"]
    # PyJWT checks `exp` with int(), which also takes the string "9999999999" (RFC 7519 §4.1.4
    # wants a NumericDate, a JSON number): such a token was a 500 before (issue 23).
    if type(expiry) not in (int, float):
        raise InvalidTokenError("expiry is not a number")
    try:  # PyJWT accepts any number as `exp`; 1e300 is "not expired" but no datetime
        expires_at = datetime.fromtimestamp(expiry, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidTokenError("expiry out of range") from exc
    return TokenClaims(
        user_id=int(sub),
        jti=jti,
        typ=expected,
        version=version,
        expires_at=expires_at,
        family_id=family if isinstance(family, str) else None,
        email=email if isinstance(email, str) else None,
    )
