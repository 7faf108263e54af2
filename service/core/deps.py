"""Dependencies every router uses: the settings and a database session per request.

The cheap ones are `async def` on purpose: FastAPI runs a plain `def` dependency in its thread
pool, and each such hop costs more than the work itself. Only what blocks (database I/O) runs
in the pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.core.config import Settings
from service.core.db import Database, sends_rollback_on_close
from service.core.db_outage import close_quietly


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# Requests that only read: every GET route reads and never writes (keep it so; a GET that wrote
# would commit statement by statement).
_READ_METHODS = frozenset({"GET", "HEAD"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Creating a session does no I/O (it connects on first use). Closing one that still holds a
    # transaction sends a ROLLBACK: that goes to the thread pool. A read session (autocommit,
    # no BEGIN sent) and a write session after its COMMIT hold none, so closing them does no I/O
    # and runs here, saving a thread hop. The ROLLBACK fails on a connection that died:
    # close_quietly discards it instead of raising after the answer was sent (which would drop
    # the client's connection).
    database: Database = request.app.state.db
    reads = request.method in _READ_METHODS
    session = database.read_sessions() if reads else database.sessions()
    try:
        yield session
    finally:
        if not sends_rollback_on_close(session):
            close_quietly(session)
        else:
            await run_in_threadpool(close_quietly, session)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
