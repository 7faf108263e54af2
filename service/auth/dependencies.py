"""`CurrentUser` and `CurrentSuperuser`: the bearer token checked and its user loaded.

An access token works while its user is active, its token version is the user's current one
(raised by a password or e-mail change, logout everywhere and deactivation) and its login (the
refresh family) has not been logged out or reached its end. Every refusal is the same 401; the
reason goes to the log, not to the caller.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import ColumnElement, and_, bindparam, select
from sqlalchemy.orm import Session

from service.auth import tokens
from service.auth.models import RefreshFamily
from service.auth.service import deactivated_refusal, login_ended, unauthorized
from service.core.config import Settings
from service.core.db import utcnow
from service.core.deps import SessionDep, SettingsDep, ThreadSessionDep
from service.core.errors import ApiError
from service.users.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def access_claims(settings: Settings, token: str | None) -> tokens.TokenClaims:
    """The claims of a valid access token; else 401 (no database needed)."""
    if not token:
        raise unauthorized("missing bearer token")
    try:
        return tokens.decode(settings, token, expected="access")
    except tokens.InvalidTokenError as exc:
        raise unauthorized("invalid or expired access token", "invalid_token") from exc


def _open_login(user_id: Any, family_id: Any, now: Any) -> ColumnElement[bool]:
    """SQL over `users` joined to `refresh_families`: the token's user and login, the login
    neither logged out nor past its end (values or bind parameters)."""
    return and_(
        User.id == user_id,
        RefreshFamily.id == family_id,
        RefreshFamily.revoked_at.is_(None),
        RefreshFamily.expires_at > now,
    )


# `open_login` with bind parameters, built once: every authenticated request runs it, and
# building the statement anew each time cost about a tenth of /users/me's CPU (issue 14).
_USER_BY_OPEN_LOGIN = (
    select(User)
    .join(RefreshFamily, RefreshFamily.user_id == User.id)
    .where(_open_login(bindparam("user_id"), bindparam("family_id"), bindparam("now")))
)


def authenticate(session: Session, claims: tokens.TokenClaims) -> User:
    """The user an access token speaks for, loaded in one query with its login; else 401."""
    found = session.execute(
        _USER_BY_OPEN_LOGIN,
        {"user_id": claims.user_id, "family_id": claims.family_id, "now": utcnow()},
    ).scalar_one_or_none()
    refusal = deactivated_refusal(found)
    if refusal is not None:
        raise refusal
    if found is None or found.token_version != claims.version:
        raise login_ended()
    return found


BearerToken = Annotated[str | None, Depends(oauth2_scheme)]


async def get_current_user(session: SessionDep, settings: SettingsDep, token: BearerToken) -> User:
    claims = access_claims(settings, token)
    return await session.run_sync(authenticate, claims)


def get_current_user_in_thread(
    session: ThreadSessionDep, settings: SettingsDep, token: BearerToken
) -> User:
    """For the routes on a `ThreadSessionDep` (they change the user in that session)."""
    return authenticate(session, access_claims(settings, token))


async def get_current_superuser(user: Annotated[User, Depends(get_current_user)]) -> User:
    if not user.is_superuser:
        raise ApiError(403, "forbidden", "this needs a superuser")
    return user


async def client_address(request: Request) -> str:
    """The caller's address as the server believes it (after TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentSuperuser = Annotated[User, Depends(get_current_superuser)]
CurrentUserInThread = Annotated[User, Depends(get_current_user_in_thread)]
ClientAddress = Annotated[str, Depends(client_address)]
