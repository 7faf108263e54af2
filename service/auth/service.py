"""Login, refresh-token rotation with reuse detection, and logout."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, select, update
from sqlalchemy.orm import Session

from service.auth import throttle, tokens
from service.auth.models import RefreshToken
from service.auth.passwords import verify_password
from service.auth.schemas import TokenPair
from service.core.config import Settings
from service.core.db import utcnow
from service.core.errors import ApiError
from service.users import service as users
from service.users.models import User

log = logging.getLogger(__name__)


def unauthorized(detail: str, code: str = "not_authenticated") -> ApiError:
    return ApiError(401, code, detail, headers={"WWW-Authenticate": "Bearer"})


def login(session: Session, settings: Settings, *, email: str, password: str) -> TokenPair:
    email = email.strip().lower()
    retry_after = throttle.seconds_locked(session, email)
    if retry_after:
        raise ApiError(
            429,
            "too_many_attempts",
            f"too many failed logins for this account; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
    user = users.get_by_email(session, email=email)
    if not verify_password(password, user.hashed_password if user else None) or user is None:
        throttle.record_failure(session, settings, email)
        log.info("login failed", extra={"reason": "bad_credentials"})
        raise unauthorized("incorrect e-mail or password", "bad_credentials")
    if not user.is_active:
        raise ApiError(403, "inactive_user", "this account is deactivated")
    throttle.record_success(session, email)
    return issue_pair(session, settings, user_id=user.id, family_id=str(uuid.uuid4()))


def issue_pair(session: Session, settings: Settings, *, user_id: int, family_id: str) -> TokenPair:
    access, _ = tokens.encode(
        settings,
        user_id=user_id,
        typ="access",
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )
    refresh, claims = tokens.encode(
        settings,
        user_id=user_id,
        typ="refresh",
        lifetime=timedelta(days=settings.refresh_token_days),
        family_id=family_id,
    )
    session.add(
        RefreshToken(
            jti=claims.jti,
            family_id=family_id,
            user_id=user_id,
            expires_at=claims.expires_at,
        )
    )
    session.commit()
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=settings.access_token_minutes * 60,
    )


def rotate(session: Session, settings: Settings, *, refresh_token: str) -> TokenPair:
    stored = _stored_refresh_token(session, settings, refresh_token)
    if stored.used_at is not None:
        # A used token came back: either the client replayed it or it was stolen. We cannot
        # tell which holder is legitimate, so the whole family is logged out.
        revoke_family(session, family_id=stored.family_id)
        log.warning("refresh token reused; family revoked", extra={"user_id": stored.user_id})
        raise unauthorized("refresh token already used; log in again", "token_reused")
    user = session.get(User, stored.user_id)
    if user is None or not user.is_active:
        raise unauthorized("account no longer active", "inactive_user")
    # Conditional update: of two concurrent refreshes with the same token, only one wins.
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.jti == stored.jti, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    won = cast(CursorResult[Any], result).rowcount
    if not won:
        session.rollback()
        revoke_family(session, family_id=stored.family_id)
        raise unauthorized("refresh token already used; log in again", "token_reused")
    return issue_pair(session, settings, user_id=stored.user_id, family_id=stored.family_id)


def logout(session: Session, settings: Settings, *, refresh_token: str) -> None:
    stored = _stored_refresh_token(session, settings, refresh_token)
    revoke_family(session, family_id=stored.family_id)


def revoke_family(session: Session, *, family_id: str) -> None:
    _revoke(session, RefreshToken.family_id == family_id)


def revoke_all_for_user(session: Session, *, user_id: int) -> None:
    _revoke(session, RefreshToken.user_id == user_id)


def _revoke(session: Session, which: ColumnElement[bool]) -> None:
    session.execute(
        update(RefreshToken)
        .where(which, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()


def _stored_refresh_token(session: Session, settings: Settings, token: str) -> RefreshToken:
    """The token's row, if it is a valid refresh JWT and not revoked (used ones included)."""
    try:
        claims = tokens.decode(settings, token, expected="refresh")
    except tokens.InvalidTokenError as exc:
        raise unauthorized(f"invalid refresh token: {exc}", "invalid_token") from exc
    stored = session.execute(
        select(RefreshToken).where(RefreshToken.jti == claims.jti)
    ).scalar_one_or_none()
    if stored is None or stored.revoked_at is not None:
        raise unauthorized("refresh token revoked; log in again", "token_revoked")
    return stored
