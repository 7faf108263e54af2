from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.core.db import Database
from service.core.db_outage import ping
from service.core.lifecycle import Lifecycle

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

# What /readyz tells the world (it is routed publicly): up or down, never why. The cause (a
# driver's message can name the database, the host, the user) goes to the log.
_UP = {"status": "ready"}
_DOWN = {"status": "unavailable"}

# The probe answers within this even when the database does not (a black-holed connection):
# the ALB's own check times out at 5 s, and a hung probe would hold a worker thread per check.
READINESS_TIMEOUT_SECONDS = 2.0


class DatabaseProbe:
    """`SELECT 1` in a thread, with a deadline, one at a time.

    A check that outlives its deadline is abandoned, not cancelled (a thread cannot be), and
    later probes wait on the same check instead of starting another: a database that hangs
    holds one thread, not one per probe. It ends when the driver's own connect/keep-alive
    timeouts give up (see service/core/db.py), and the next probe starts afresh."""

    def __init__(self, database: Database, timeout: float = READINESS_TIMEOUT_SECONDS) -> None:
        self.database = database
        self.timeout = timeout
        self._pending: asyncio.Future[str | None] | None = None

    async def problem(self) -> str | None:
        """None when the database answers in time, else why not."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(asyncio.to_thread(ping, self.database.engine))
        try:
            return await asyncio.wait_for(asyncio.shield(self._pending), self.timeout)
        except TimeoutError:
            return f"no answer within {self.timeout} s"


@router.get("/healthz")
async def liveness() -> dict[str, str]:
    """The process answers. No dependencies: a database outage must not restart every task."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "draining or database unreachable"}})
async def readiness(request: Request) -> Any:
    """Ready for traffic: not draining and the database answers. Load balancers probe this."""
    lifecycle: Lifecycle = request.app.state.lifecycle
    if lifecycle.draining:
        log.debug("not ready: draining")
        return JSONResponse(_DOWN, status_code=503)
    probe: DatabaseProbe | None = getattr(request.app.state, "database_probe", None)
    if probe is None:
        probe = request.app.state.database_probe = DatabaseProbe(request.app.state.db)
    problem = await probe.problem()
    if problem is not None:
        log.warning("not ready: database check failed", extra={"error": problem})
        return JSONResponse(_DOWN, status_code=503)
    return _UP
