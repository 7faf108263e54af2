"""`CurrentUser` and `CurrentSuperuser`: the bearer token checked and its user loaded.

An access token works while its user is active, its token version is the user's current one
(raised by a password or e-mail change, logout everywhere and deactivation) and its login (the
refresh family) has not been logged out or reached its end. Every refusal is the same 401; the
reason goes to the log, not to the caller.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select

from service.auth import tokens
from service.auth.models import RefreshFamily
from service.auth.service import deactivated_refusal, login_ended, unauthorized
from service.core.db import utcnow
from service.core.deps import SessionDep, SettingsDep
from service.core.errors import ApiError
from service.users.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_current_user(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    if not token:
        raise unauthorized("missing bearer token")
    try:
        claims = tokens.decode(settings, token, expected="access")
    except tokens.InvalidTokenError as exc:
        raise unauthorized("invalid or expired access token", "invalid_token") from exc
    found = session.execute(
        select(User)
        .join(RefreshFamily, RefreshFamily.user_id == User.id)
        .where(
            User.id == claims.user_id,
            RefreshFamily.id == claims.family_id,
            RefreshFamily.revoked_at.is_(None),
            RefreshFamily.expires_at > utcnow(),
        )
    ).scalar_one_or_none()
    refusal = deactivated_refusal(found)
    if refusal is not None:
        raise refusal
    if found is None or found.token_version != claims.version:
        raise login_ended()
    return found


def get_current_superuser(user: Annotated[User, Depends(get_current_user)]) -> User:
    if not user.is_superuser:
        raise ApiError(403, "forbidden", "this needs a superuser")
    return user


async def client_address(request: Request) -> str:
    """The caller's address as the server believes it (after TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentSuperuser = Annotated[User, Depends(get_current_superuser)]
ClientAddress = Annotated[str, Depends(client_address)]
