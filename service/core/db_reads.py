"""Reads on an `AsyncConnection`: SQLAlchemy Core, no Session, for the hot GET routes (issue 25).

A `Session` costs its identity map, the ORM's instance state and its transaction bookkeeping
on every request; a read that turns rows straight into JSON needs none of it. `read_rows` runs
one Core statement (built once by its caller, with bind parameters) on a connection of the
async engine in autocommit, and gives the connection back to the pool before it returns: the
caller builds and sends its answer with no connection held, so a client that reads slowly
never keeps one (issue 23's rule for every request).

Everything the session path guarantees holds here too, because it lives on the engine or in
the same exceptions: the password read from its secret at each connect (`do_connect`,
service/core/db_credentials.py), outages raised as SQLAlchemy's exceptions and answered 503
by service/core/errors.py, and the retry of a stale pooled connection (below, as
`RequestSession` does it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from service.core.db import STALE_CONNECTION_RETRIED, Database
from service.core.db_outage import close_quietly

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)


async def read_rows(
    database: Database, statement: Executable, parameters: Mapping[str, Any]
) -> Sequence[Row[Any]]:
    """Every row of `statement` (a read), fetched at once on a pooled connection that is back
    in the pool when this returns.

    No pre-ping (issue 14): a connection the server closed while it sat in the pool fails on
    this statement, which is then sent once more on a fresh connection. Nothing was sent on
    it before, and a read in autocommit changed nothing. A failure to connect is never retried
    (that is an outage, answered 503), nor is a second failure."""
    engine = database.async_read_engine
    try:
        return await _fetch_all(engine, statement, parameters)
    except _StaleConnectionError as stale:
        log.info(STALE_CONNECTION_RETRIED, extra={"error": stale.first_line})
    return await _fetch_all(engine, statement, parameters, retry=False)


class _StaleConnectionError(Exception):
    def __init__(self, error: DBAPIError) -> None:
        super().__init__(str(error))
        self.first_line = str(error.orig).strip().splitlines()[0] if str(error.orig) else ""


async def _fetch_all(
    engine: AsyncEngine,
    statement: Executable,
    parameters: Mapping[str, Any],
    *,
    retry: bool = True,
) -> Sequence[Row[Any]]:
    # The checkout (and a connect) outside the `try`: a connect that fails is an outage, and
    # SQLAlchemy may flag it as a disconnect too.
    connection = await engine.connect()
    try:
        try:
            result = await connection.execute(statement, parameters)
        except DBAPIError as exc:
            if retry and exc.connection_invalidated:
                raise _StaleConnectionError(exc) from exc
            raise
        return result.all()
    finally:
        await connection.close()


async def run_read(
    database: Database,
    read: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`read` (a sync data function) on a read session (autocommit, ORM) of the async engine, the
    session closed before this returns: for the rare ways of a hot route (an empty page, a
    superuser, a refusal's precise reason), which keep the ORM's data functions."""
    session = database.async_read_sessions()
    try:
        return await session.run_sync(read, *args, **kwargs)
    finally:
        await session.run_sync(close_quietly)
