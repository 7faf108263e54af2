"""Changing the e-mail address: the new one is parked in `pending_email` until its owner presents
the confirmation token sent to it. Sending is out of scope here; in `local` the token is logged.

The token is a JWT bound to the user, the new address and the user's token version, so a password
change (or any other end of all sessions) voids a confirmation still pending. Confirming ends
every session: the login name changed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from service.auth import service as auth
from service.auth import tokens
from service.core.config import Settings
from service.core.errors import ApiError
from service.users import service as users
from service.users.models import User

log = logging.getLogger(__name__)


def invalid_confirmation() -> ApiError:
    return ApiError(
        400,
        "invalid_confirmation",
        "this confirmation token is invalid, expired or already used; change the e-mail again",
    )


def start(session: Session, settings: Settings, *, user: User, email: str) -> str:
    """Park `email` and return its confirmation token."""
    users.request_email_change(session, user=user, email=email)
    token, _ = tokens.encode(
        settings,
        user_id=user.id,
        typ="email",
        version=user.token_version,
        lifetime=timedelta(hours=settings.email_confirmation_hours),
        email=email,
    )
    if settings.environment == "local":
        log.info(
            "e-mail confirmation token (local only)", extra={"user_id": user.id, "token": token}
        )
    return token


def confirm(session: Session, settings: Settings, *, token: str) -> User:
    try:
        claims = tokens.decode(settings, token, expected="email")
    except tokens.InvalidTokenError as exc:
        raise invalid_confirmation() from exc
    user = session.get(User, claims.user_id)
    refusal = auth.deactivated_refusal(user)
    if refusal is not None:
        raise refusal
    if (
        user is None
        or user.token_version != claims.version
        or claims.email is None
        or user.pending_email != claims.email
    ):
        raise invalid_confirmation()
    users.confirm_email_change(session, user=user, email=claims.email)
    auth.end_all_sessions(session, user=user)
    return user
