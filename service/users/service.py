"""User data functions: the only place that writes the users table."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.auth.passwords import hash_password
from service.core.errors import ApiError
from service.users.models import User
from service.users.schemas import UserCreate, UserUpdateMe


def email_taken() -> ApiError:
    return ApiError(409, "email_taken", "a user with this e-mail already exists")


def get_by_email(session: Session, *, email: str) -> User | None:
    return session.execute(select(User).where(User.email == email.lower())).scalar_one_or_none()


def create_user(session: Session, *, data: UserCreate, is_superuser: bool = False) -> User:
    user = User(
        email=data.email,
        hashed_password=hash_password(data.password),
        full_name=data.full_name,
        is_superuser=is_superuser,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:  # the unique index settles races between two sign-ups
        session.rollback()
        raise email_taken() from exc
    return user


def update_me(session: Session, *, user: User, data: UserUpdateMe) -> User:
    if data.email is not None and data.email != user.email:
        user.email = data.email
    if data.full_name is not None:
        user.full_name = data.full_name
    if data.password is not None:
        user.hashed_password = hash_password(data.password)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise email_taken() from exc
    return user


def list_users(session: Session, *, offset: int, limit: int) -> tuple[list[User], int]:
    count = session.execute(select(func.count()).select_from(User)).scalar_one()
    users = session.execute(select(User).order_by(User.id).offset(offset).limit(limit)).scalars()
    return list(users), count
