"""`CurrentUser` and `CurrentSuperuser`: the bearer token checked and its user loaded."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from service.auth import tokens
from service.auth.service import unauthorized
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
        raise unauthorized(f"invalid access token: {exc}", "invalid_token") from exc
    user = session.get(User, claims.user_id)
    if user is None:
        raise unauthorized("user no longer exists", "invalid_token")
    if not user.is_active:
        raise ApiError(403, "inactive_user", "this account is deactivated")
    return user


def get_current_superuser(user: Annotated[User, Depends(get_current_user)]) -> User:
    if not user.is_superuser:
        raise ApiError(403, "forbidden", "this needs a superuser")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentSuperuser = Annotated[User, Depends(get_current_superuser)]
