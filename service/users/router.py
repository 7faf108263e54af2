from __future__ import annotations

from fastapi import APIRouter, status

from service.auth import service as auth
from service.auth.dependencies import CurrentSuperuser, CurrentUser
from service.core.deps import SessionDep
from service.core.errors import ApiError, not_found
from service.core.openapi import AUTHENTICATED, error
from service.core.params import PageDep, ResourceId
from service.users import service
from service.users.models import User
from service.users.schemas import UserCreate, UserPublic, UsersPublic, UserUpdateMe

router = APIRouter(prefix="/users", tags=["users"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={409: error("e-mail already registered")},
)
def register_user(session: SessionDep, body: UserCreate) -> UserPublic:
    """Sign up. The password needs at least 12 characters; nothing else is required of it."""
    return UserPublic.model_validate(service.create_user(session, data=body))


@router.get("/me", responses=AUTHENTICATED)
def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.patch("/me", responses={**AUTHENTICATED, 409: error("e-mail already registered")})
def update_me(session: SessionDep, user: CurrentUser, body: UserUpdateMe) -> UserPublic:
    """Change e-mail, name or password. A new password logs out every other session."""
    updated = service.update_me(session, user=user, data=body)
    if body.password is not None:
        auth.revoke_all_for_user(session, user_id=user.id)
    return UserPublic.model_validate(updated)


@router.get("", responses=AUTHENTICATED)
def read_users(session: SessionDep, _: CurrentSuperuser, page: PageDep) -> UsersPublic:
    """Every user, oldest first (superusers only)."""
    users, count = service.list_users(session, offset=page.offset, limit=page.limit)
    return UsersPublic(data=[UserPublic.model_validate(u) for u in users], count=count)


@router.post(
    "/{user_id}/deactivate",
    responses={
        **AUTHENTICATED,
        400: error("a superuser cannot deactivate themself"),
        404: error("no such user"),
    },
)
def deactivate_user(
    session: SessionDep, admin: CurrentSuperuser, user_id: ResourceId
) -> UserPublic:
    """Block an account: its tokens stop working at once (superusers only)."""
    user = session.get(User, user_id)
    if user is None:
        raise not_found("user")
    if user.id == admin.id:
        raise ApiError(400, "cannot_deactivate_self", "a superuser cannot deactivate themself")
    user.is_active = False
    session.commit()
    auth.revoke_all_for_user(session, user_id=user.id)
    return UserPublic.model_validate(user)
