from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, false
from sqlalchemy.orm import Mapped, mapped_column

from service.core.db import Base, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: e-mail addresses are compared case-insensitively everywhere.
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every token carries the version it was issued under; raising it (password or e-mail change,
    # logout everywhere, deactivation) makes every earlier access and refresh token fail at once.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # A new address waits here until the owner confirms it; logins use `email` until then.
    pending_email: Mapped[str | None] = mapped_column(String(320))
    # A sign-up whose address is not proven yet: no login until its owner presents the token sent
    # to it. The server default (false) keeps rows written by the previous release (and by the
    # operator command) ready to log in during a rolling deployment.
    awaiting_confirmation: Mapped[bool] = mapped_column(default=False, server_default=false())
