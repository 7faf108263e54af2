"""Dependencies every router uses: the settings and a database session per request.

`SessionDep` is an `AsyncSession` on the async engine: a route runs its (synchronous) data
functions with `await session.run_sync(...)`, on the event loop, no thread hop. Only the routes
that hash a password use `ThreadSessionDep`, a sync session for a plain `def` route in the
thread pool: the hash runs on a thread anyway (service/auth/passwords.py) and must not block
the loop, and a sync session cannot be used from async code nor an async one from a thread.

The cheap dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in its
thread pool, and each such hop costs more than the work itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.db import Database
from service.core.db_outage import close_quietly


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# Requests that only read: every GET route reads and never writes (keep it so; a GET that wrote
# would commit statement by statement).
_READ_METHODS = frozenset({"GET", "HEAD"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    # Creating a session does no I/O (it connects on first use). Closing one rolls back what is
    # still open, which fails on a connection that died: close_quietly discards it instead of
    # raising after the answer was sent (which would drop the client's connection).
    database: Database = request.app.state.db
    reads = request.method in _READ_METHODS
    session = database.async_read_sessions() if reads else database.async_sessions()
    try:
        yield session
    finally:
        await session.run_sync(close_quietly)


def get_thread_session(request: Request) -> Iterator[Session]:
    # A plain `def` generator: FastAPI opens and closes it in the thread pool, with the route.
    database: Database = request.app.state.db
    session = database.sessions()
    try:
        yield session
    finally:
        close_quietly(session)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": the session is closed (its connection back in the pool) as soon as the route
# has returned and its answer is serialised, *before* the answer is written to the socket. With
# the default scope the session lived until the last byte was sent, so a client that reads
# slowly (or never) held a pooled connection as long as it liked: sixteen such clients took the
# api down (issue 23). A route's data functions must therefore finish inside the route (they do:
# every answer is built in full before it is returned; nothing streams from the database).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ThreadSessionDep = Annotated[Session, Depends(get_thread_session, scope="function")]
