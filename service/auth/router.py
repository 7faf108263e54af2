from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from service.auth import service
from service.auth.schemas import RefreshRequest, TokenPair
from service.core.deps import SessionDep, SettingsDep
from service.core.openapi import Responses, error
from service.core.security_headers import no_store

# Token answers must not be cached (RFC 6749 section 5.1): every route here says so itself.
router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(no_store)])

_401: Responses = {401: error("bad credentials, or an invalid, used or revoked token")}


@router.post(
    "/token",
    responses={
        **_401,
        403: error("account deactivated"),
        429: error("too many failed logins; see Retry-After"),
    },
)
def login_for_tokens(
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenPair:
    """OAuth2 password flow: `username` is the e-mail address."""
    return service.login(session, settings, email=form.username, password=form.password)


@router.post("/refresh", responses=_401)
def refresh_tokens(session: SessionDep, settings: SettingsDep, body: RefreshRequest) -> TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once."""
    return service.rotate(session, settings, refresh_token=body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=_401)
def logout(session: SessionDep, settings: SettingsDep, body: RefreshRequest) -> None:
    """Revoke the refresh token and every token rotated from the same login."""
    service.logout(session, settings, refresh_token=body.refresh_token)
