from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy.orm import Session

from service.auth import service as auth
from service.auth.dependencies import ClientAddress, CurrentSuperuser, CurrentUserInThread
from service.auth.read_access import (
    USER_BY_OPEN_LOGIN,
    USER_PUBLIC_FIELDS,
    ReadAccessDep,
    checked_user,
)
from service.core.config import Settings
from service.core.db_reads import read_rows
from service.core.deps import SessionDep, SettingsDep, ThreadSessionDep
from service.core.errors import ApiError, not_found
from service.core.json_answer import json_answer
from service.core.openapi import AUTHENTICATED, error
from service.core.params import Page, PageDep, ResourceId
from service.users import email_change, service, signup
from service.users.models import User
from service.users.schemas import (
    EmailConfirmation,
    SignUpAccepted,
    UserCreate,
    UserPublic,
    UsersPublic,
    UserUpdateMe,
)

router = APIRouter(prefix="/users", tags=["users"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        429: error("too many sign-ups from this network; see Retry-After"),
        503: error("too many passwords being hashed; see Retry-After"),
    },
)
def register_user(
    session: ThreadSessionDep,  # hashes a password: in the thread pool (service/core/deps.py)
    settings: SettingsDep,
    client: ClientAddress,
    body: UserCreate,
) -> SignUpAccepted:
    """Sign up. The password needs at least 12 characters; nothing else is required of it.

    The answer is the same whether or not the address is already registered: a link to confirm
    it is sent to the address (`POST /users/signup-confirmation` with its token), and the account
    can log in once it is confirmed. An address that has an account gets a notice instead."""
    signup.sign_up(session, settings, data=body, client=client)
    return signup.accepted(settings)


@router.post("/signup-confirmation", responses={400: error("invalid or expired token")})
async def confirm_signup(
    session: SessionDep, settings: SettingsDep, body: EmailConfirmation
) -> UserPublic:
    """Prove a new account's address with the token sent to it; the account can then log in."""
    return await session.run_sync(_confirm_signup, settings, body.token)


def _confirm_signup(session: Session, settings: Settings, token: str) -> UserPublic:
    return UserPublic.model_validate(signup.confirm(session, settings, token=token))


@router.get("/me", responses=AUTHENTICATED, response_model=UserPublic)
async def read_me(access: ReadAccessDep) -> Response:
    # A hot read (issue 25): the token's check and the answer's columns in one Core statement
    # built once, the connection back in the pool before the answer is written, serialised once.
    rows = await read_rows(access.database, USER_BY_OPEN_LOGIN, access.login_parameters())
    user = checked_user(rows, access.claims)
    return json_answer(dict(zip(USER_PUBLIC_FIELDS, user, strict=False)))


@router.patch(
    "/me",
    responses={
        **AUTHENTICATED,
        403: error("current_password missing or wrong (needed for a new e-mail or password)"),
        409: error("e-mail already registered"),
        429: error("too many wrong passwords; see Retry-After"),
        503: error("too many passwords being hashed; see Retry-After"),
    },
)
def update_me(
    session: ThreadSessionDep,  # may hash passwords: in the thread pool (service/core/deps.py)
    settings: SettingsDep,
    user: CurrentUserInThread,
    client: ClientAddress,
    body: UserUpdateMe,
) -> UserPublic:
    """Change name, e-mail or password. A new e-mail or password needs `current_password`.

    A new password ends every login of the account, this one included: log in again. A new
    e-mail stays in `pending_email` until confirmed with the token sent to it
    (`POST /users/email-confirmation`); logins use the old address until then.
    """
    if body.is_sensitive and not _owner_confirmed(session, settings, user, body, client):
        raise ApiError(
            403, "wrong_password", "changing e-mail or password needs the current password"
        )
    if body.full_name is not None:
        service.set_full_name(session, user=user, full_name=body.full_name)
    if body.email is not None and body.email != user.email:
        email_change.start(session, settings, user=user, email=body.email)
    if body.password is not None:
        service.set_password(session, user=user, password=body.password)
        auth.end_all_sessions(session, user=user)
    return UserPublic.model_validate(user)


def _owner_confirmed(
    session: Session, settings: Settings, user: User, body: UserUpdateMe, client: str
) -> bool:
    """The current password was given and is right (throttled like a login)."""
    if body.current_password is None:
        return False
    found = auth.check_password(
        session, settings, email=user.email, password=body.current_password, client=client
    )
    return found is not None


@router.post(
    "/email-confirmation",
    responses={400: error("invalid or expired token"), 409: error("e-mail already registered")},
)
async def confirm_email(
    session: SessionDep, settings: SettingsDep, body: EmailConfirmation
) -> UserPublic:
    """Make a pending e-mail address the account's own. Every login of the account ends."""
    return await session.run_sync(_confirm_email, settings, body.token)


def _confirm_email(session: Session, settings: Settings, token: str) -> UserPublic:
    return UserPublic.model_validate(email_change.confirm(session, settings, token=token))


@router.get("", responses=AUTHENTICATED)
async def read_users(session: SessionDep, _: CurrentSuperuser, page: PageDep) -> UsersPublic:
    """Every user, oldest first (superusers only)."""
    return await session.run_sync(_read_users, page)


def _read_users(session: Session, page: Page) -> UsersPublic:
    users = service.list_users(session, page=page)
    return UsersPublic(data=[UserPublic.model_validate(u) for u in users.rows], count=users.total)


@router.post(
    "/{user_id}/deactivate",
    responses={
        **AUTHENTICATED,
        400: error("a superuser cannot deactivate themself"),
        404: error("no such user"),
    },
)
async def deactivate_user(
    session: SessionDep, admin: CurrentSuperuser, user_id: ResourceId
) -> UserPublic:
    """Block an account: its tokens stop working at once (superusers only)."""
    return await session.run_sync(_deactivate_user, admin, user_id)


def _deactivate_user(session: Session, admin: User, user_id: int) -> UserPublic:
    user = session.get(User, user_id)
    if user is None:
        raise not_found("user")
    if user.id == admin.id:
        raise ApiError(400, "cannot_deactivate_self", "a superuser cannot deactivate themself")
    service.deactivate(session, user=user)
    auth.end_all_sessions(session, user=user)
    return UserPublic.model_validate(user)
