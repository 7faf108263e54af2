"""Sign-up that tells nothing and proves the address (issue 23).

`POST /users` answers the same `202` whatever the address: free, taken, or waiting for its
confirmation. What differs goes to the address's mailbox, which only its owner reads:
- a free address: a new account, `awaiting_confirmation`, and a confirmation token sent to it
  (`POST /users/signup-confirmation` with it makes the account able to log in);
- an address whose account is confirmed: a notice to that owner ("someone tried to sign up with
  your address"), no change to the account;
- an address waiting for confirmation: a notice while the first sign-up's token is still valid;
  after `signup_confirmation_hours` the unproven claim lapses and this sign-up takes it over (so
  nobody squats an address they cannot read: issue 23's attacker registered a victim's address
  first).
Every path hashes the password once, so the answer's timing tells nothing either.

A sign-up is counted per client network (throttle key `signup:`) *before* its password is hashed,
and hashes within its own share of the Argon2 slots (service/auth/passwords.py): a flood of
sign-ups neither makes accounts by the hundred nor starves logins.

Sending mail is out of scope here (as for an e-mail change): in `local` the token and the notice
are logged.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.auth import throttle, tokens
from service.auth.passwords import hash_password
from service.core.config import Settings
from service.core.db import utcnow
from service.core.errors import ApiError
from service.users import service as users
from service.users.models import User
from service.users.schemas import SignUpAccepted, UserCreate

log = logging.getLogger(__name__)


def accepted(settings: Settings) -> SignUpAccepted:
    return SignUpAccepted(
        detail="check your e-mail: we sent a link to confirm the address (valid for "
        f"{settings.signup_confirmation_hours} h); you can log in once it is confirmed"
    )


def too_many_signups(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "too_many_signups",
        f"too many sign-ups from your network; try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def invalid_signup_confirmation() -> ApiError:
    return ApiError(
        400,
        "invalid_confirmation",
        "this confirmation link is invalid, expired or already used; sign up again for a new one",
    )


def sign_up(session: Session, settings: Settings, *, data: UserCreate, client: str) -> None:
    key = throttle.ThrottleKey(
        f"signup:{throttle.client_network(client)}", settings.signup_client_max
    )
    retry_after = throttle.reserve(session, settings, [key])
    if retry_after:
        raise too_many_signups(retry_after)
    hashed = hash_password(data.password, for_signup=True)  # on every path: same timing
    existing = users.get_by_email(session, email=data.email)
    if existing is None:
        user = User(
            email=data.email,
            hashed_password=hashed,
            full_name=data.full_name,
            awaiting_confirmation=True,
        )
        session.add(user)
        try:
            session.commit()
        except IntegrityError:  # another sign-up of this address won the race
            session.rollback()
            _notify_owner(settings, users.get_by_email(session, email=data.email))
            return
        _send_confirmation(settings, user)
        return
    if existing.awaiting_confirmation and _claim_lapsed(settings, existing):
        existing.hashed_password = hashed
        existing.full_name = data.full_name
        existing.created_at = utcnow()
        existing.token_version += 1  # the lapsed claim's token stops working
        session.commit()
        _send_confirmation(settings, existing)
        return
    _notify_owner(settings, existing)


def confirm(session: Session, settings: Settings, *, token: str) -> User:
    """The account whose address this token proves, now able to log in."""
    try:
        claims = tokens.decode(settings, token, expected="signup")
    except tokens.InvalidTokenError as exc:
        raise invalid_signup_confirmation() from exc
    user = session.get(User, claims.user_id)
    if (
        user is None
        or not user.is_active
        or not user.awaiting_confirmation
        or user.token_version != claims.version
        or user.email != claims.email
    ):
        raise invalid_signup_confirmation()
    user.awaiting_confirmation = False
    session.commit()
    log.info("sign-up confirmed", extra={"user_id": user.id})
    return user


def _claim_lapsed(settings: Settings, user: User) -> bool:
    return utcnow() - user.created_at >= timedelta(hours=settings.signup_confirmation_hours)


def _send_confirmation(settings: Settings, user: User) -> str:
    token, _ = tokens.encode(
        settings,
        user_id=user.id,
        typ="signup",
        version=user.token_version,
        lifetime=timedelta(hours=settings.signup_confirmation_hours),
        email=user.email,
    )
    if settings.environment == "local":
        log.info(
            "sign-up confirmation token (local only)", extra={"user_id": user.id, "token": token}
        )
    return token


def _notify_owner(settings: Settings, user: User | None) -> None:
    if user is None:  # deleted between the two reads: nobody to tell
        return
    log.info("sign-up for an existing address; its owner is notified", extra={"user_id": user.id})
    if settings.environment == "local":
        log.info(
            "sign-up notice (local only): someone tried to sign up with your address; if it was "
            "you, log in (or confirm the link sent earlier)",
            extra={"user_id": user.id, "notice": "signup_for_existing_address"},
        )
