"""Database engine, declarative base and the per-request session.

SQLAlchemy 2 with synchronous sessions: FastAPI runs sync handlers in its thread pool, which keeps
the code simple and is fast enough (see bench/RESULTS.md). SQLite is for local runs and tests;
PostgreSQL everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from service.core.db_credentials import (
    CACHE_SECONDS_PARAMETER,
    DEFAULT_CACHE_SECONDS,
    SECRET_ARN_PARAMETER,
    SecretPassword,
    use_secret_password,
)

# Stable constraint names, so Alembic migrations can drop and alter them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute


def utcnow() -> datetime:
    return datetime.now(UTC)


# A fail-over leaves connections to a host that no longer answers, and connects to it hang:
# give up in seconds, not in TCP's minutes, so requests answer 503 and probes recover by
# themselves (libpq's parameters; asyncpg has its own `timeout`/`command_timeout`).
LIBPQ_TIMEOUTS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,  # ms: unacknowledged writes fail after this
}


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # The password may live in a secret, read at each connect (rotation: db_credentials.py).
    secret_arn = parsed.query.get(SECRET_ARN_PARAMETER)
    cache_seconds = parsed.query.get(CACHE_SECONDS_PARAMETER)
    parsed = parsed.difference_update_query([SECRET_ARN_PARAMETER, CACHE_SECONDS_PARAMETER])
    engine = create_engine(
        parsed,
        connect_args=LIBPQ_TIMEOUTS if parsed.get_driver_name() == "psycopg" else {},
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,  # RDS fail-over and idle timeouts close connections under us
        pool_recycle=1800,
    )
    if secret_arn:
        password = SecretPassword(
            str(secret_arn),
            cache_seconds=float(str(cache_seconds)) if cache_seconds else DEFAULT_CACHE_SECONDS,
        )
        use_secret_password(engine, password)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # API, relay and worker read while one writes
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """One engine and session factory per process, created from settings at start-up."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
