"""The bench server is the service's app plus one bare route, in one production-style process."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.core.db import make_engine
from service.migrations.runner import upgrade
from tools.bench.server import BARE_PATH
from tools.local.processes import free_port, start_python, tail, terminate, wait_until_ready

pytestmark = pytest.mark.slow


def test_bare_route_and_api_are_served_by_the_same_app(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    port = free_port()
    log = tmp_path / "server.log"
    process = start_python(
        ["-m", "tools.bench.server"],
        env={"PORT": str(port), "DATABASE_URL": url, "RELAY_ENABLED": "false"},
        log_path=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{base}/readyz", process, log)
        bare = httpx.get(f"{base}{BARE_PATH}")
        api = httpx.get(f"{base}/api/v1/items")
        assert bare.status_code == 200, tail(log)
        assert bare.json() == {"status": "ok"}
        assert api.status_code == 401  # the real API, its auth and error format
        assert api.json()["code"]
        # The same middleware wraps both: each answer carries its request id.
        assert bare.headers["x-request-id"]
        assert api.headers["x-request-id"]
        # A benchmark-only route stays out of the public schema.
        assert BARE_PATH not in httpx.get(f"{base}/openapi.json").json()["paths"]
    finally:
        assert terminate(process).code == 0, tail(log)
