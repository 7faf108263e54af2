"""Failed-login throttle per account.

After `login_max_failures` failures inside `login_failure_window_seconds`, logins for that e-mail
are refused (429 with Retry-After) until the window has passed, even with the right password:
that is what makes online guessing slow. It applies to unknown e-mails too, so the answer does not
reveal which accounts exist. State lives in the database, shared by every API task.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth.models import LoginThrottle
from service.core.config import Settings
from service.core.db import utcnow


def seconds_locked(session: Session, email: str, *, now: datetime | None = None) -> int:
    """Seconds until this account may try again; 0 when it may try now."""
    row = session.get(LoginThrottle, email)
    now = now or utcnow()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return 0
    return max(1, math.ceil((row.locked_until - now).total_seconds()))


def record_failure(session: Session, settings: Settings, email: str) -> None:
    now = utcnow()
    window = timedelta(seconds=settings.login_failure_window_seconds)
    row = session.execute(
        select(LoginThrottle).where(LoginThrottle.email == email).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        row = LoginThrottle(email=email, failures=0, window_started_at=now)
        session.add(row)
    if now - row.window_started_at > window:
        row.failures, row.window_started_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= settings.login_max_failures:
        row.locked_until = now + window
    session.commit()


def record_success(session: Session, email: str) -> None:
    row = session.get(LoginThrottle, email)
    if row is not None:
        session.delete(row)
        session.commit()
