"""Deleting authentication rows nobody can use any more, on write.

Logins (the only writes that strangers can cause in bulk) call `maybe_prune`; it runs at most
once per `prune_interval_seconds` per process, so the tables stay as large as the live data:
- `login_attempts` whose window has passed and whose delay is over (they would restart at zero);
- the previous release's `login_throttles` rows, past their window;
- refresh families that were revoked or reached their absolute end, and their tokens;
- refresh tokens past their expiry. Used tokens of live families stay until they expire: a used
  token coming back is how a stolen one is detected.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select
from sqlalchemy.orm import Session

from service.auth.models import LoginAttempts, LoginThrottle, RefreshFamily, RefreshToken
from service.core.config import Settings
from service.core.db import utcnow

_lock = threading.Lock()
_last_run = -float("inf")


def maybe_prune(session: Session, settings: Settings) -> None:
    global _last_run
    with _lock:
        if time.monotonic() - _last_run < settings.prune_interval_seconds:
            return
        _last_run = time.monotonic()
    prune(session, settings, now=utcnow())


def prune(session: Session, settings: Settings, *, now: datetime) -> dict[str, int]:
    """Delete the dead rows (and commit); how many of each."""
    window_start = now - timedelta(seconds=settings.login_failure_window_seconds)
    dead_family = or_(RefreshFamily.revoked_at.is_not(None), RefreshFamily.expires_at <= now)
    statements = {
        "login_attempts": delete(LoginAttempts).where(
            LoginAttempts.window_started_at < window_start, LoginAttempts.next_attempt_at <= now
        ),
        "login_throttles": delete(LoginThrottle).where(
            LoginThrottle.window_started_at < window_start,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        ),
        "refresh_tokens": delete(RefreshToken).where(
            or_(
                RefreshToken.expires_at <= now,
                RefreshToken.family_id.in_(select(RefreshFamily.id).where(dead_family)),
            )
        ),
        "refresh_families": delete(RefreshFamily).where(dead_family),
    }
    counts = {
        table: cast(CursorResult[Any], session.execute(statement)).rowcount
        for table, statement in statements.items()
    }
    session.commit()
    return counts
