"""Database engines, declarative base and the per-request session.

The data functions are plain synchronous SQLAlchemy 2. The worker, the relay and migrations run
them on a sync engine; the api runs them on an asyncio engine through `AsyncSession.run_sync`
(greenlets: the same code, its I/O awaited on the event loop, no thread hop per request; see
tools/bench/RESULTS.md for what each step saved).
SQLite is for local runs and tests; PostgreSQL everywhere else.

The api's sessions skip two round trips per request (issue 14): no pre-ping on checkout (a
stale pooled connection is detected when its first statement fails, which is retried once on
a fresh one, see `RequestSession`), and reads run in autocommit (no BEGIN, so no ROLLBACK
when the connection goes back to the pool).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
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


log = logging.getLogger(__name__)

# Logged once per retried statement (RequestSession here, read_rows in db_reads.py).
STALE_CONNECTION_RETRIED = "stale pooled connection; first statement retried on a fresh one"


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pre_ping: bool = True,
    pool_timeout: float = 30.0,
) -> Engine:
    """`pre_ping=False` saves a round trip per checkout; only for callers that handle a stale
    connection themselves (the api: `RequestSession` retries a read, a write answers 503)."""
    parsed, password = _parsed(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(
        parsed,
        **_pool_arguments(
            parsed, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout
        ),
        # RDS fail-over and idle timeouts close connections under us: the pre-ping finds them
        # before use. Either way, the first disconnect seen invalidates the whole pool (every
        # connection older than it is replaced on its next checkout).
        pool_pre_ping=pre_ping,
    )
    if password is not None:
        use_secret_password(engine, password)
    return engine


def make_async_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, pool_timeout: float = 30.0
) -> AsyncEngine:
    """The api's engine: the same database, settings and hooks as `make_engine`, on asyncio
    drivers (psycopg's async connection; aiosqlite, which runs sqlite3 on a thread of its own).
    No pre-ping: `RequestSession` handles a stale connection. The hooks go on `sync_engine`,
    where SQLAlchemy runs them (inside the event loop, through greenlets)."""
    parsed, password = _parsed(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(
            parsed.set(drivername="sqlite+aiosqlite"), connect_args={"timeout": 30}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        parsed,
        **_pool_arguments(
            parsed, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout
        ),
        pool_pre_ping=False,
    )
    if password is not None:
        use_secret_password(engine.sync_engine, password)
    return engine


def _parsed(url: str) -> tuple[URL, SecretPassword | None]:
    """The URL without our own query parameters, and the secret the password comes from (the
    password may live in a secret, read at each connect: rotation, db_credentials.py)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return parsed, None
    secret_arn = parsed.query.get(SECRET_ARN_PARAMETER)
    cache_seconds = parsed.query.get(CACHE_SECONDS_PARAMETER)
    parsed = parsed.difference_update_query([SECRET_ARN_PARAMETER, CACHE_SECONDS_PARAMETER])
    if not secret_arn:
        return parsed, None
    password = SecretPassword(
        str(secret_arn),
        cache_seconds=float(str(cache_seconds)) if cache_seconds else DEFAULT_CACHE_SECONDS,
    )
    return parsed, password


def _pool_arguments(
    parsed: URL, *, pool_size: int, max_overflow: int, pool_timeout: float
) -> dict[str, Any]:
    return {
        "connect_args": LIBPQ_TIMEOUTS if parsed.get_driver_name() == "psycopg" else {},
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        "pool_timeout": pool_timeout,
        "pool_recycle": 1800,
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # API, relay and worker read while one writes
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class RequestSession(Session):
    """A session that retries its first statement once when it met a dead pooled connection.

    Without a pre-ping, a connection the server closed while it sat in the pool (a restart, a
    fail-over, an idle timeout, a password rotation's terminated backends) is found out by the
    first statement sent on it. Only that first statement of a session's transaction is
    retried, once, on a fresh connection: nothing was sent before it, and whatever it did on the
    dead connection was never committed (the server rolls back a transaction whose connection
    is gone; in autocommit only reads use it). A failure later in a transaction is never
    retried (the request answers 503 and the client retries, orders with their Idempotency-Key),
    nor is a failure to open a connection (an outage, not a stale connection)."""

    retry_stale_connection = True

    def _execute_internal(self, *args: Any, **kwargs: Any) -> Any:
        if not self.retry_stale_connection or self.in_transaction():
            return super()._execute_internal(*args, **kwargs)
        self.connection()  # checkout (and connect, if need be) outside the retry
        try:
            return super()._execute_internal(*args, **kwargs)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            log.info(
                STALE_CONNECTION_RETRIED,
                extra={"error": str(exc.orig).strip().splitlines()[0] if str(exc.orig) else ""},
            )
            self.rollback()  # releases the invalidated connection
        return super()._execute_internal(*args, **kwargs)


class Database:
    """Engines and session factories per process, created from settings at start-up.

    Two engines on one database: `engine` (sync) for the worker, the relay, migrations and the
    api's password routes (their Argon2 hashes run on threads anyway), and `async_engine` for
    every other api request, so none waits for a thread. Each has `sessions` for writes (a
    transaction: BEGIN ... COMMIT) and `read_sessions` for requests that only read (GET):
    autocommit, each statement on its own. Both retry a stale connection's first statement.
    The async engine's connections belong to the event loop that opened them: `dispose_async`
    on that loop before it ends (the app's lifespan does)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        pre_ping: bool = True,
        sync_pool: tuple[int, int] | None = None,
        pool_timeout: float = 30.0,
    ) -> None:
        # `sync_pool` (size, overflow): the sync engine's own, smaller pool where the async engine
        # serves most requests (the api); by default both pools are pool_size + max_overflow.
        sync_size, sync_overflow = sync_pool or (pool_size, max_overflow)
        self.engine = make_engine(
            url,
            pool_size=sync_size,
            max_overflow=sync_overflow,
            pre_ping=pre_ping,
            pool_timeout=pool_timeout,
        )
        self.sessions = sessionmaker(self.engine, class_=RequestSession, expire_on_commit=False)
        # Same pool; the isolation level is set on checkout and reset on return (no round trip
        # with psycopg: it only changes when the next BEGIN is sent).
        self.read_sessions = sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"),
            class_=RequestSession,
            expire_on_commit=False,
        )
        # Created now, connected on first use (a worker never opens it).
        self.async_engine = make_async_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout
        )
        self.async_sessions = async_sessionmaker(
            self.async_engine, sync_session_class=RequestSession, expire_on_commit=False
        )
        # The hot reads' engine (Core on an AsyncConnection, service/core/db_reads.py): the same
        # pool in autocommit.
        self.async_read_engine = self.async_engine.execution_options(isolation_level="AUTOCOMMIT")
        self.async_read_sessions = async_sessionmaker(
            self.async_read_engine,
            sync_session_class=RequestSession,
            expire_on_commit=False,
        )

    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        # Outside the loop its connections belong to, they cannot be closed: let them go.
        self.async_engine.sync_engine.dispose(close=False)

    async def dispose_async(self) -> None:
        self.engine.dispose()
        await self.async_engine.dispose()
