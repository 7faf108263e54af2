"""API throughput: each endpoint next to the bare route of the same server, measured back to back.

One server process (`python -m bench.server`, PostgreSQL behind it) serves both; each scenario
is measured right after its own baseline run, so the machine's noise (other processes on a
shared two-core box) hits both sides of a ratio alike. The ratio is the figure; absolute
requests/s only describe this machine.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.http_load import LoadResult, Request, RequestFactory, run_closed_loop
from bench.server import BARE_PATH
from rehearsal.database import scratch_database
from service.local.processes import free_port, start_python, terminate, wait_until_ready

PASSWORD = "bench-password-0123"  # noqa: S105 - throwaway accounts in a scratch database
ITEMS_PER_USER = 20


@dataclass(frozen=True)
class Comparison:
    scenario: LoadResult
    baseline: LoadResult
    target: float | None = None  # the ratio the project promises, where it promises one

    @property
    def ratio(self) -> float:
        return self.scenario.rate / self.baseline.rate if self.baseline.rate else 0.0

    @property
    def meets_target(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target


@dataclass
class BenchUser:
    email: str
    token: str
    item_ids: list[int]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class BenchServer:
    """`python -m bench.server` on a free port, with production-like settings."""

    def __init__(self, *, database_url: str, workdir: Path, extra_env: dict[str, str]) -> None:
        self.port = free_port()
        self.log_path = workdir / "bench-server.log"
        env = {
            "ENVIRONMENT": "staging",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATABASE_URL": database_url,
            "JWT_SECRET": secrets.token_urlsafe(48),
            "RELAY_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            **extra_env,
        }
        self.process: subprocess.Popen[bytes] = start_python(
            ["-m", "bench.server"], env=env, log_path=self.log_path
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 90) -> None:
        wait_until_ready(f"{self.url}/readyz", self.process, self.log_path, timeout=timeout)

    def stop(self) -> None:
        terminate(self.process, stop_timeout=30)


def create_users(base_url: str, count: int, *, items: int = ITEMS_PER_USER) -> list[BenchUser]:
    users = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for _ in range(count):
            email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
            created = client.post("/api/v1/users", json={"email": email, "password": PASSWORD})
            created.raise_for_status()
            token = client.post(
                "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            ids = []
            for n in range(items):
                response = client.post(
                    "/api/v1/items",
                    headers=headers,
                    json={"title": f"bench item {n}", "price": "12.50"},
                )
                response.raise_for_status()
                ids.append(response.json()["id"])
            users.append(BenchUser(email=email, token=token, item_ids=ids))
    return users


def scenarios(users: list[BenchUser]) -> list[tuple[str, RequestFactory, int, float | None]]:
    """(name, request factory, expected status, target ratio) of each measured endpoint."""
    json_headers = {"Content-Type": "application/json"}
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def item_reads(i: int, _: int) -> Request:
        return Request("GET", "/api/v1/items?limit=20", headers=users[i].auth)

    def item_writes(i: int, n: int) -> Request:
        body = json.dumps({"title": f"written {n}", "price": "3.25"}).encode()
        return Request("POST", "/api/v1/items", body, {**users[i].auth, **json_headers})

    def logins(i: int, _: int) -> Request:
        body = urllib.parse.urlencode({"username": users[i].email, "password": PASSWORD})
        return Request("POST", "/api/v1/auth/token", body.encode(), form_headers)

    def order_placement(i: int, n: int) -> Request:
        user = users[i]
        lines = [{"item_id": user.item_ids[n % len(user.item_ids)], "quantity": 1}]
        headers = {**user.auth, **json_headers, "Idempotency-Key": f"bench-{i}-{n}-{uuid.uuid4()}"}
        return Request("POST", "/api/v1/orders", json.dumps({"lines": lines}).encode(), headers)

    def readiness(_: int, __: int) -> Request:
        return Request("GET", "/readyz")

    def current_user(i: int, _: int) -> Request:
        return Request("GET", "/api/v1/users/me", headers=users[i].auth)

    return [
        # Context for reading the rest: one plain `SELECT 1` (no ORM, no auth), then the bearer
        # token check with its one ORM query, which every authenticated endpoint pays.
        ("readiness probe (GET /readyz: SELECT 1)", readiness, 200, None),
        ("current user (GET /api/v1/users/me)", current_user, 200, None),
        ("item reads (GET /api/v1/items)", item_reads, 200, 0.6),
        ("item writes (POST /api/v1/items)", item_writes, 201, None),
        ("logins (POST /api/v1/auth/token)", logins, 200, None),
        ("order placement (POST /api/v1/orders)", order_placement, 202, None),
    ]


def bench_api(
    *, workdir: Path, seconds: float, concurrency: int, log: Callable[[str], None] = print
) -> list[Comparison]:
    workdir.mkdir(parents=True, exist_ok=True)
    comparisons = []
    with scratch_database(prefix="shipyard_bench") as database_url:
        server = BenchServer(database_url=database_url, workdir=workdir, extra_env={})
        try:
            server.wait_ready()
            users = create_users(server.url, concurrency)
            bare: RequestFactory = lambda _i, _n: Request("GET", BARE_PATH)  # noqa: E731
            for name, factory, status, target in scenarios(users):
                baseline = run_closed_loop(
                    "bare JSON route",
                    port=server.port,
                    make_request=bare,
                    expected_status=200,
                    concurrency=concurrency,
                    seconds=seconds,
                )
                measured = run_closed_loop(
                    name,
                    port=server.port,
                    make_request=factory,
                    expected_status=status,
                    concurrency=concurrency,
                    seconds=seconds,
                )
                comparison = Comparison(measured, baseline, target)
                log(
                    f"{name}: {measured.rate:.0f} req/s vs bare {baseline.rate:.0f} req/s "
                    f"= {comparison.ratio:.2f}"
                    + (f" ({measured.errors} errors)" if measured.errors else "")
                )
                comparisons.append(comparison)
        finally:
            server.stop()
    return comparisons
