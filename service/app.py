"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from service.api import api_router
from service.auth import passwords
from service.core.body_limit import BodySizeLimitMiddleware
from service.core.config import Settings, get_settings
from service.core.db import Database
from service.core.errors import install_error_handlers
from service.core.lifecycle import Lifecycle
from service.core.middleware import RequestContextMiddleware
from service.core.security_headers import SecurityHeadersMiddleware
from service.health.router import router as health_router
from service.messaging.relay import OutboxRelay, RelayThread

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = database or Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pre_ping=False,  # the api's sessions handle a stale connection (service/core/db.py)
        sync_pool=(settings.api_sync_pool_size, 0),
        pool_timeout=settings.db_pool_timeout_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        relay = _start_relay(settings, database)
        yield
        if relay is not None:
            relay.stop()
        # On this loop: the async engine's connections belong to it (service/core/db.py).
        await database.dispose_async()
        if app.state.db is not database:  # swapped in after start (tests of outages do)
            await app.state.db.dispose_async()

    app = FastAPI(
        title="shipyard",
        version="1.0.0",
        summary="Users, items and orders; the service the shipyard platform deploys.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    passwords.configure(
        concurrency=settings.password_hash_concurrency,
        wait_seconds=settings.password_hash_wait_seconds,
    )
    app.state.db = database
    app.state.lifecycle = Lifecycle()

    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    # Outermost last: the security headers go on every answer, the 500s of the request context
    # included; the body limit runs inside it, so its 413 carries the request id and is logged.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(
        SecurityHeadersMiddleware,
        docs_paths=frozenset(
            path
            for path in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
            if path
        ),
        api_prefix=api_router.prefix + "/",
    )
    app.include_router(health_router)
    app.include_router(api_router)
    if settings.web_root:  # local only: on AWS CloudFront serves web/ from S3
        app.mount("/", StaticFiles(directory=Path(settings.web_root), html=True), name="web")
    return app


def _start_relay(settings: Settings, database: Database) -> RelayThread | None:
    """The outbox relay runs inside the API process (one fewer service to deploy and scale)."""
    if not settings.relay_enabled:
        return None
    try:
        relay = OutboxRelay(database, settings)
    except ValueError as exc:
        if settings.environment != "local":
            raise
        log.warning("outbox relay off: %s (make dev sets it up)", exc)
        return None
    thread = RelayThread(relay)
    thread.start()
    return thread
