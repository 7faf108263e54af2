from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, status

from service.auth import service
from service.auth.dependencies import ClientAddress, CurrentUser
from service.auth.passwords import MAX_PASSWORD_LENGTH
from service.auth.schemas import RefreshRequest, TokenPair
from service.core.deps import SessionDep, SettingsDep, ThreadSessionDep
from service.core.openapi import AUTHENTICATED, Responses, error
from service.core.security_headers import no_store

# Token answers must not be cached (RFC 6749 section 5.1): every route here says so itself.
router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(no_store)])

_401: Responses = {401: error("bad credentials, or an invalid, used or revoked token")}


@router.post(
    "/token",
    responses={
        **_401,
        429: error("too many failed logins; see Retry-After"),
        503: error("too many logins in progress; see Retry-After"),
    },
)
def login_for_tokens(
    session: ThreadSessionDep,  # hashes a password: in the thread pool (service/core/deps.py)
    settings: SettingsDep,
    client: ClientAddress,
    # The OAuth2 password form (RFC 6749 §4.3), with lengths capped: a password is hashed, and
    # nothing longer than a password may be is worth hashing.
    username: Annotated[str, Form(min_length=1, max_length=320)],
    password: Annotated[str, Form(min_length=1, max_length=MAX_PASSWORD_LENGTH)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> TokenPair:
    """OAuth2 password flow: `username` is the e-mail address. A deactivated account answers
    like a wrong password."""
    return service.login(session, settings, email=username, password=password, client=client)


@router.post("/refresh", responses=_401)
async def refresh_tokens(
    session: SessionDep, settings: SettingsDep, body: RefreshRequest
) -> TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once; a login ends
    `SESSION_MAX_DAYS` after it began, however often it is refreshed."""
    return await session.run_sync(service.rotate, settings, refresh_token=body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=_401)
async def logout(session: SessionDep, settings: SettingsDep, body: RefreshRequest) -> None:
    """End this login: its refresh tokens and access tokens stop working at once."""
    await session.run_sync(service.logout, settings, refresh_token=body.refresh_token)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=AUTHENTICATED)
async def logout_everywhere(session: SessionDep, user: CurrentUser) -> None:
    """End every login of this account, on every device."""
    await session.run_sync(service.end_all_sessions, user=user)
