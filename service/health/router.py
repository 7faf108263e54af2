from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service.core.db import Database
from service.core.lifecycle import Lifecycle

router = APIRouter(tags=["health"])


@router.get("/healthz")
def liveness() -> dict[str, str]:
    """The process answers. No dependencies: a database outage must not restart every task."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "draining or database unreachable"}})
def readiness(request: Request) -> Any:
    """Ready for traffic: not draining and the database answers. Load balancers probe this."""
    lifecycle: Lifecycle = request.app.state.lifecycle
    if lifecycle.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    database: Database = request.app.state.db
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"; say which
        return JSONResponse(
            {"status": "unavailable", "database": type(exc).__name__}, status_code=503
        )
    return {"status": "ready"}
