"""Telling a database outage from a bug, the same way for the api, the relay and the worker.

An RDS fail-over (one to two minutes), a maintenance restart or a network cut shows up as
SQLAlchemy exceptions, whatever the driver (psycopg, sync or async; asyncpg): the connection is
lost (`connection_invalidated`, SQLAlchemy's `is_disconnect`), cannot be opened
(`OperationalError`/`InterfaceError` without a server error code), the server is shutting down
or refusing (SQLSTATE classes 08, 53, 57), or no pooled connection came free in time
(`sqlalchemy.exc.TimeoutError`). Those are "try again shortly": the api answers 503 with
`Retry-After`, the worker hands the message back without calling it poison, the relay waits.
Everything else (a constraint, a missing table, a bug) is not an outage and keeps its own path.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# What a 503 tells clients to wait before retrying. A fail-over takes one to two minutes, but most
# outages clients meet are shorter (a restart, a blip); clients back off further on their own.
RETRY_AFTER_SECONDS = 5

# SQLSTATE classes that mean "the server cannot serve now", not "this statement is wrong":
# 08 connection exception, 53 insufficient resources (too many connections), 57 operator
# intervention (admin/crash shutdown, cannot connect now, statement timeout).
_OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
# SQLite (local runs) reports a busy or locked file as OperationalError; its other operational
# errors (no such table, ...) are bugs.
_SQLITE_OUTAGES = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})


# The server's FATAL answers to a connect that no retry will fix: the database does not exist
# (3D000 invalid_catalog_name), the password is refused (28P01 invalid_password), the role does
# not exist, may not log in or has no pg_hba.conf entry (28000 invalid_authorization_specification),
# or may not connect to this database (42501 insufficient_privilege). A connect error carries no
# SQLSTATE through libpq (psycopg's `sqlstate` is None there; asyncpg's has one), only the
# server's message, so the message is matched too: PostgreSQL's own texts (src/backend/utils/
# init/postinit.c, libpq/auth.c, libpq/hba.c), as RDS sends them (lc_messages en_US).
_MISCONFIGURATION_SQLSTATES = frozenset({"3D000", "28P01", "28000", "42501"})
_MISCONFIGURATION_MESSAGES = (
    (re.compile(r'FATAL:\s+database "[^"]*" does not exist'), "3D000"),
    (re.compile(r"FATAL:\s+password authentication failed for user"), "28P01"),
    (re.compile(r'FATAL:\s+role "[^"]*" does not exist'), "28000"),
    (re.compile(r'FATAL:\s+role "[^"]*" is not permitted to log in'), "28000"),
    (re.compile(r"FATAL:\s+no pg_hba\.conf entry for"), "28000"),
    (re.compile(r"FATAL:\s+permission denied for database"), "42501"),
)


def misconfiguration(exc: BaseException) -> str | None:
    """The SQLSTATE when `exc` says the server refuses this service's connection settings for
    good (see above), else None. Such an error is not an outage: waiting does not fix it."""
    original: Any = getattr(exc, "orig", None) or exc
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate and str(sqlstate) in _MISCONFIGURATION_SQLSTATES and not _in_a_session(exc):
        return str(sqlstate)
    text = str(original)
    for pattern, code in _MISCONFIGURATION_MESSAGES:
        if pattern.search(text):
            return code
    return None


def _in_a_session(exc: BaseException) -> bool:
    # 42501 from a statement (a GRANT missing on one table) is a bug of ours, not a connect
    # refusal; a statement's error carries the SQL it ran.
    return bool(getattr(exc, "statement", None))


def is_database_unavailable(exc: BaseException) -> bool:
    """True when `exc` means the database cannot be reached or cannot serve right now. A
    permanent refusal (`misconfiguration`) is among them: the worker and the relay must not
    call messages poison for it; the api tells it apart (service/core/errors.py)."""
    if isinstance(exc, sa_exc.TimeoutError):  # the pool waited in vain for a connection
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        # SQLAlchemy's async adapters do not wrap errors of the connect itself (sqlalchemy#11956):
        # under asyncpg a refused connect is a bare ConnectionRefusedError, a server that is
        # starting up a bare CannotConnectNowError (SQLSTATE 57P03).
        sqlstate = getattr(exc, "sqlstate", None)
        if sqlstate:
            return str(sqlstate)[:2] in _OUTAGE_SQLSTATE_CLASSES
        return isinstance(exc, ConnectionError)
    if exc.connection_invalidated:  # the dialect's is_disconnect said so
        return True
    if not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return False
    original: Any = exc.orig
    sqlite_error = getattr(original, "sqlite_errorname", None)
    if sqlite_error is not None:
        return sqlite_error in _SQLITE_OUTAGES
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if not sqlstate:  # no server answered: refused, reset, timed out, name not resolved
        return True
    return str(sqlstate)[:2] in _OUTAGE_SQLSTATE_CLASSES


def describe(exc: BaseException) -> str:
    """One line for a log: the driver's own message, without SQLAlchemy's SQL and links."""
    original = getattr(exc, "orig", None) or exc
    first_line = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return f"{type(original).__name__}: {first_line}"[:300]


def ping(engine: Engine) -> str | None:
    """None when the database answers `SELECT 1`, else why not (never raises)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not reachable"; say which
        return describe(exc)
    return None


def close_quietly(session: Session) -> None:
    """Close a session whose connection may have died; never raise.

    Closing rolls back on the connection, which raises when the connection is gone. FastAPI
    closes a request's session after the answer was sent: an exception there can only reach the
    server, which then drops the client's keep-alive connection. The connection is discarded
    instead (the pool opens a new one when the database is back)."""
    try:
        session.close()
    except Exception as exc:
        if is_database_unavailable(exc):
            log.info(
                "connection lost while closing a session; discarded", extra={"error": describe(exc)}
            )
        else:
            log.error("closing a session failed; connection discarded", exc_info=exc)
        try:
            session.invalidate()
        except Exception as again:  # the connection is already unusable; nothing more to do
            log.debug("invalidating the session failed too", extra={"error": describe(again)})


class OutageBackoff:
    """Paces a background loop (the relay, the worker) while its database is unreachable: waits
    0.5 s, doubling up to `most`, between attempts; logs the outage once as it starts (a warning,
    no traceback) and once as it ends, instead of a traceback per attempt."""

    def __init__(self, what: str, *, first: float = 0.5, most: float = 5.0) -> None:
        self.what = what
        self.first = first
        self.most = most
        self._delay = first
        self._since: float | None = None

    @property
    def in_outage(self) -> bool:
        return self._since is not None

    def wait(self, problem: str, stop: threading.Event) -> None:
        if self._since is None:
            self._since = time.monotonic()
            log.warning(f"database unavailable; {self.what} waits for it", extra={"error": problem})
        stop.wait(self._delay)
        self._delay = min(self.most, self._delay * 2)

    def recovered(self) -> None:
        if self._since is None:
            return
        log.info(
            f"database reachable again; {self.what} resumes",
            extra={"outage_seconds": round(time.monotonic() - self._since, 1)},
        )
        self._since = None
        self._delay = self.first
