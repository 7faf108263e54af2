"""Login, refresh-token rotation with reuse detection, logout, and ending every session.

Serialisation: a login is a row in `refresh_families`. Rotation, logout and revoke-all each start
by *writing* that row (a conditional UPDATE), so on PostgreSQL they queue on its row lock and on
SQLite on the database's write lock; whichever comes second sees what the first did. A refresh
that races a logout either finishes first (and the logout then revokes the family, the new token
included) or finds the family revoked. No token outlives a revocation.

Token versions: every token carries the user's `token_version`; `end_all_sessions` raises it, so
every access and refresh token issued before (password or e-mail change, logout everywhere,
deactivation) stops working on its next use, whichever task serves it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, select, update
from sqlalchemy.orm import Session

from service.auth import pruning, throttle, tokens
from service.auth.models import RefreshFamily, RefreshToken
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


def bad_credentials() -> ApiError:
    return unauthorized("incorrect e-mail or password", "bad_credentials")


def session_ended() -> ApiError:
    return unauthorized("this login has ended; log in again", "token_revoked")


def deactivated_refusal(user: User | None) -> ApiError | None:
    """The one rule for a token (access, refresh, e-mail confirmation) of a deactivated account:
    401 `invalid_token`, RFC 6750's error for a revoked token, with the same body as any other
    ended login; the reason goes to the log. Each path asks it before checking the token version
    (which deactivation raises too), so a deactivated account meets this answer on every path,
    whatever else is wrong with the token. The login form does not use it: there a
    deactivated account answers exactly like a wrong password (issue 13), so the form never says
    that an account exists."""
    if user is None or user.is_active:
        return None
    log.info("token of a deactivated account refused", extra={"user_id": user.id})
    return login_ended()


def login_ended() -> ApiError:
    return unauthorized("this login has ended; log in again", "invalid_token")


def not_confirmed() -> ApiError:
    # Only answered after the right password: it tells nothing to someone who does not know it.
    return ApiError(
        403,
        "email_not_confirmed",
        "confirm your e-mail address first: open the link we sent to it when you signed up",
    )


def too_many_attempts(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "too_many_attempts",
        f"too many failed logins; try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def check_password(
    session: Session, settings: Settings, *, email: str, password: str, client: str
) -> User | None:
    """The active user with this e-mail and password, else None; throttled (429) either way.

    A deactivated account is None like a wrong password, whichever password was given: its
    answer must not tell an attacker that the password was right.
    """
    keys = throttle.keys_for(settings, email=email, client=client)
    retry_after = throttle.reserve(session, settings, keys)
    if retry_after:
        raise too_many_attempts(retry_after)
    pruning.maybe_prune(session, settings)
    user = users.get_by_email(session, email=email)
    try:
        matches, new_hash = verify_password(password, user.hashed_password if user else None)
    except ApiError:  # no turn to hash (503): not the caller's failure
        throttle.give_back(session, keys)
        raise
    # A deactivated account: None, like a wrong password (not `deactivated_refusal`, whose
    # answer would tell that the account exists and that the password was right).
    if not matches or user is None or not user.is_active:
        log.info("password check failed", extra={"reason": "bad_credentials"})
        return None
    throttle.succeeded(session, keys)
    if user.awaiting_confirmation:
        raise not_confirmed()
    if new_hash:  # stored with the previous release's parameters
        user.hashed_password = new_hash
        session.commit()
    return user


def login(
    session: Session, settings: Settings, *, email: str, password: str, client: str
) -> TokenPair:
    email = email.strip().lower()
    user = check_password(session, settings, email=email, password=password, client=client)
    if user is None:
        raise bad_credentials()
    now = utcnow()
    family = RefreshFamily(
        id=str(uuid.uuid4()),
        user_id=user.id,
        started_at=now,
        expires_at=now + timedelta(days=settings.session_max_days),
    )
    session.add(family)
    return _issue_pair(session, settings, user=user, family=family)


def _issue_pair(
    session: Session, settings: Settings, *, user: User, family: RefreshFamily
) -> TokenPair:
    access, _ = tokens.encode(
        settings,
        user_id=user.id,
        typ="access",
        version=user.token_version,
        lifetime=timedelta(minutes=settings.access_token_minutes),
        family_id=family.id,
    )
    # Never beyond the login's absolute end, however often it is refreshed.
    refresh, claims = tokens.encode(
        settings,
        user_id=user.id,
        typ="refresh",
        version=user.token_version,
        lifetime=timedelta(days=settings.refresh_token_days),
        family_id=family.id,
        not_after=family.expires_at,
    )
    session.add(
        RefreshToken(
            jti=claims.jti, family_id=family.id, user_id=user.id, expires_at=claims.expires_at
        )
    )
    session.commit()
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=settings.access_token_minutes * 60,
    )


def rotate(session: Session, settings: Settings, *, refresh_token: str) -> TokenPair:
    claims = _decode_refresh(settings, refresh_token)
    family_id = cast(str, claims.family_id)
    now = utcnow()
    # First statement, a write: it takes the family's lock (see the module's docstring).
    taken = session.execute(
        update(RefreshFamily)
        .where(
            RefreshFamily.id == family_id,
            RefreshFamily.revoked_at.is_(None),
            RefreshFamily.expires_at > now,
        )
        .values(rotated_at=now)
    )
    if not cast(CursorResult[Any], taken).rowcount:
        session.rollback()
        # Deactivation ends every login too: say which ended it (a read on this path only).
        raise deactivated_refusal(session.get(User, claims.user_id)) or session_ended()
    stored = session.execute(
        select(RefreshToken).where(RefreshToken.jti == claims.jti)
    ).scalar_one_or_none()
    if stored is None or stored.family_id != family_id:
        session.rollback()
        raise session_ended()
    if stored.used_at is not None:
        # A used token came back: either the client replayed it or it was stolen. We cannot
        # tell which holder is legitimate, so the whole family is logged out.
        _revoke(session, RefreshFamily.id == family_id)
        log.warning("refresh token reused; family revoked", extra={"user_id": stored.user_id})
        raise unauthorized("refresh token already used; log in again", "token_reused")
    user = session.get(User, stored.user_id)
    refusal = deactivated_refusal(user)
    if refusal is not None or user is None or user.token_version != claims.version:
        session.rollback()
        raise refusal or session_ended()
    stored.used_at = now
    family = session.get(RefreshFamily, family_id)
    assert family is not None  # we hold its lock
    return _issue_pair(session, settings, user=user, family=family)


def logout(session: Session, settings: Settings, *, refresh_token: str) -> None:
    claims = _decode_refresh(settings, refresh_token)
    if not _revoke(session, RefreshFamily.id == cast(str, claims.family_id)):
        raise session_ended()


def end_all_sessions(session: Session, *, user: User) -> None:
    """Every token issued to this user so far stops working (commits)."""
    session.execute(
        update(User).where(User.id == user.id).values(token_version=User.token_version + 1)
    )
    _revoke(session, RefreshFamily.user_id == user.id)
    session.refresh(user)


def _revoke(session: Session, which: ColumnElement[bool]) -> int:
    """Revoke the families matched (and commit); how many were still live."""
    now = utcnow()
    result = session.execute(
        update(RefreshFamily)
        .where(which, RefreshFamily.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(RefreshFamily.id)
    )
    revoked = list(result.scalars())
    if revoked:
        # For tasks of the previous release during a rolling deployment (they read this column).
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id.in_(revoked), RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    session.commit()
    return len(revoked)


def _decode_refresh(settings: Settings, token: str) -> tokens.TokenClaims:
    try:
        return tokens.decode(settings, token, expected="refresh")
    except tokens.InvalidTokenError as exc:
        raise unauthorized("invalid refresh token", "invalid_token") from exc
