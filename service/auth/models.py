from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.core.db import Base, utcnow


class RefreshFamily(Base):
    """One login: every refresh token rotated from it belongs to it. Rotation, logout and revoke
    all write this row first, so on every backend they run one after the other (see
    service/auth/service.py), and its `expires_at` is the absolute end of the session."""

    __tablename__ = "refresh_families"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class RefreshToken(Base):
    """One issued refresh token. Tokens issued by rotation share a family: when a used token is
    presented again (a sign it was stolen), the whole family is revoked."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
    # Revocation lives on the family now; still written so that tasks of the previous release
    # (which read only this column) honour a logout during a rolling deployment.
    revoked_at: Mapped[datetime | None]


class LoginAttempts(Base):
    """Login attempts per throttle key (`account:<e-mail>` or `client:<address>`), in the database
    so every API task sees the same count. See service/auth/throttle.py."""

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(index=True)
    next_attempt_at: Mapped[datetime]


class LoginThrottle(Base):
    """The previous release's per-account counter: no longer written, only pruned. Kept while a
    rolling deployment may still run that release; drop it in the next migration."""

    __tablename__ = "login_throttles"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
