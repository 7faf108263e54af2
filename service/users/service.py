"""User data functions: the only place that writes the users table."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.auth.passwords import hash_password
from service.core.errors import ApiError
from service.core.pagination import PageOf, read_page
from service.core.params import Page
from service.users.models import User
from service.users.schemas import UserCreate


def email_taken() -> ApiError:
    return ApiError(409, "email_taken", "a user with this e-mail already exists")


def get_by_email(session: Session, *, email: str) -> User | None:
    return session.execute(select(User).where(User.email == email.lower())).scalar_one_or_none()


def create_user(
    session: Session, *, data: UserCreate, is_superuser: bool = False, confirmed: bool = True
) -> User:
    """An account made by an operator (`python -m service create-user`) or a test in-process,
    never through the HTTP API: sign-ups go through service/users/signup.py. `confirmed=False`
    leaves it waiting for its address's confirmation, like a sign-up."""
    user = User(
        email=data.email,
        hashed_password=hash_password(data.password),
        full_name=data.full_name,
        is_superuser=is_superuser,
        awaiting_confirmation=not confirmed,
    )
    session.add(user)
    _commit_or_taken(session)
    return user


def set_full_name(session: Session, *, user: User, full_name: str) -> None:
    user.full_name = full_name
    session.commit()


def set_password(session: Session, *, user: User, password: str) -> None:
    user.hashed_password = hash_password(password)
    session.commit()


def request_email_change(session: Session, *, user: User, email: str) -> None:
    """Park the new address until it is confirmed (409 if someone already uses it)."""
    if get_by_email(session, email=email) is not None:
        raise email_taken()
    user.pending_email = email
    session.commit()


def confirm_email_change(session: Session, *, user: User, email: str) -> None:
    user.email, user.pending_email = email, None
    _commit_or_taken(session)


def deactivate(session: Session, *, user: User) -> None:
    user.is_active = False
    session.commit()


def _commit_or_taken(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError as exc:  # the unique index settles races between two sign-ups
        session.rollback()
        raise email_taken() from exc


def list_users(session: Session, *, page: Page) -> PageOf[User]:
    return read_page(session, select(User), order_by=User.id, page=page)
