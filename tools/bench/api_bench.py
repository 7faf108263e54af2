"""API throughput: each endpoint next to the bare route and next to the limit reference.

Two server processes on one scratch PostgreSQL database: the service (`python -m
tools.bench.server`: its app plus one bare route) and the reference (`python -m
tools.bench.reference`: the same work on asyncpg, no ORM), both served by `service.server.serve`
with the same settings. For each scenario the bare route, the service's endpoint and the
reference's are measured back to back with wrk (`tools/bench/wrk.py`), so the machine's noise
(other processes on a shared two-core box) hits every side of a ratio alike. The ratios are the
figures; absolute requests/s only describe this machine."""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts import api_client as api
from tools.bench.http_load import LoadResult, Request, run_closed_loop
from tools.bench.server import BARE_PATH
from tools.bench.template import API as TEMPLATE_API
from tools.bench.template import TemplateServer, TemplateSource, TemplateUser, start_template
from tools.bench.template import create_users as create_template_users
from tools.bench.wrk import run_wrk
from tools.local.accounts import create_ready_accounts
from tools.local.databases import scratch_database as empty_scratch_database
from tools.local.processes import free_port, start_python, terminate, wait_until_ready
from tools.rehearsal.database import admin_url, scratch_database

PASSWORD = "bench-password-0123"  # noqa: S105 - throwaway accounts in a scratch database
ITEMS_PER_USER = 20


@dataclass(frozen=True)
class Target:
    """What the project promises for an endpoint, against the reference measured in the same run
    (issue 14): requests/s at least `min_ratio` × the reference's and, where given, p99 at most
    `max_p99_ratio` × the reference's p99."""

    min_ratio: float
    max_p99_ratio: float | None = None

    def describe(self) -> str:
        text = f"≥ {self.min_ratio:g} × ref"
        return text + (f", p99 ≤ {self.max_p99_ratio:g} × ref" if self.max_p99_ratio else "")


@dataclass(frozen=True)
class Comparison:
    scenario: LoadResult
    baseline: LoadResult  # the service's bare route, measured just before
    reference: LoadResult | None = None  # the same work in tools/bench/reference.py, just after
    target: Target | None = None
    template: LoadResult | None = None  # the template's equivalent endpoint, just after that

    @property
    def template_ratio(self) -> float | None:
        """The service's endpoint / the template's (requests/s)."""
        return None if self.template is None else _ratio(self.scenario.rate, self.template.rate)

    @property
    def ratio(self) -> float:
        """The service's endpoint / the bare route."""
        return _ratio(self.scenario.rate, self.baseline.rate)

    @property
    def reference_ratio(self) -> float | None:
        """The service's endpoint / the reference's (requests/s)."""
        return None if self.reference is None else _ratio(self.scenario.rate, self.reference.rate)

    @property
    def p99_ratio(self) -> float | None:
        """The service's p99 / the reference's p99."""
        if self.reference is None:
            return None
        return _ratio(self.scenario.p99_ms, self.reference.p99_ms)

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or self.reference_ratio is None:
            return None
        if self.scenario.errors or self.reference_ratio < self.target.min_ratio:
            return False
        limit = self.target.max_p99_ratio
        return limit is None or (self.p99_ratio or 0.0) <= limit


@dataclass(frozen=True)
class ClientCheck:
    """The bare route loaded by wrk and by the Python client (tools/bench/http_load.py) in turn:
    the rate each reaches and the CPU each burns show which one is the bottleneck."""

    wrk: LoadResult
    python: LoadResult


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom else 0.0


@dataclass
class BenchUser:
    email: str
    token: str
    item_ids: list[int]

    @property
    def auth(self) -> dict[str, str]:
        return api.bearer(self.token)


class BenchServer:
    """`python -m tools.bench.server` (or another server module) on a free port, with
    production-like settings. Give two servers the same `jwt_secret` and they accept each other's
    tokens."""

    def __init__(
        self,
        *,
        database_url: str,
        workdir: Path,
        extra_env: dict[str, str],
        module: str = "tools.bench.server",
        jwt_secret: str | None = None,
    ) -> None:
        self.port = free_port()
        self.log_path = workdir / f"{module}.log"
        env = {
            "ENVIRONMENT": "staging",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATABASE_URL": database_url,
            "JWT_SECRET": jwt_secret or secrets.token_urlsafe(48),
            "RELAY_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            **extra_env,
        }
        self.process: subprocess.Popen[bytes] = start_python(
            ["-m", module], env=env, log_path=self.log_path
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 90) -> None:
        wait_until_ready(f"{self.url}/readyz", self.process, self.log_path, timeout=timeout)

    def stop(self) -> None:
        terminate(self.process, stop_timeout=30)


def create_users(
    base_url: str, database_url: str, count: int, *, items: int = ITEMS_PER_USER
) -> list[BenchUser]:
    """`count` ready accounts (made with `python -m service create-user`: a sign-up over HTTP
    waits for its address's confirmation), each logged in with `items` items."""
    users = []
    emails = [f"bench-{uuid.uuid4().hex[:12]}@example.com" for _ in range(count)]
    create_ready_accounts(database_url, emails, PASSWORD)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for email in emails:
            tokens = api.log_in(client, email, PASSWORD)
            headers = tokens.headers
            ids = []
            for n in range(items):
                response = client.post(
                    "/api/v1/items",
                    headers=headers,
                    json={"title": f"bench item {n}", "price": "12.50"},
                )
                response.raise_for_status()
                ids.append(response.json()["id"])
            users.append(BenchUser(email=email, token=tokens.access_token, item_ids=ids))
    return users


@dataclass(frozen=True)
class Scenario:
    name: str
    requests: list[Request]  # cycled through; `{n}` becomes a value unique in the run
    expected_status: int
    has_reference: bool = False
    target: Target | None = None
    # The template's equivalent (tools/bench/template.py): its requests and success status.
    template_requests: list[Request] | None = None
    template_status: int = 200


def scenarios(
    users: list[BenchUser], template_users: list[TemplateUser] | None = None
) -> list[Scenario]:
    """Each measured endpoint, with one request per bench user (each carries its own token);
    where the template has an equivalent and was started, its requests too."""
    json_headers = {"Content-Type": "application/json"}
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    reads = [Request("GET", "/api/v1/items?limit=10", headers=u.auth) for u in users]
    me = [Request("GET", "/api/v1/users/me", headers=u.auth) for u in users]
    item = json.dumps({"title": "written {n}", "price": "3.25"}).encode()
    writes = [Request("POST", "/api/v1/items", item, {**u.auth, **json_headers}) for u in users]
    logins = [
        Request(
            "POST",
            api.TOKEN_PATH,
            urllib.parse.urlencode({"username": u.email, "password": PASSWORD}).encode(),
            form_headers,
        )
        for u in users
    ]
    orders = [
        Request(
            "POST",
            "/api/v1/orders",
            json.dumps({"lines": [{"item_id": u.item_ids[0], "quantity": 1}]}).encode(),
            {**u.auth, **json_headers, "Idempotency-Key": "bench-{n}"},
        )
        for u in users
    ]
    # Issue 25's targets.
    read_target = Target(min_ratio=0.6, max_p99_ratio=3.0)
    write_target = Target(min_ratio=0.4)
    template = template_users or []
    t_json = {"Content-Type": "application/json"}
    t_reads = [Request("GET", f"{TEMPLATE_API}/items/?limit=10", headers=t.auth) for t in template]
    t_me = [Request("GET", f"{TEMPLATE_API}/users/me", headers=t.auth) for t in template]
    t_item = json.dumps({"title": "written {n}"}).encode()
    t_writes = [
        Request("POST", f"{TEMPLATE_API}/items/", t_item, {**t.auth, **t_json}) for t in template
    ]
    return [
        # Context for reading the rest: one plain `SELECT 1` (no ORM, no auth).
        Scenario("readiness probe (GET /readyz: SELECT 1)", [Request("GET", "/readyz")], 200),
        Scenario("current user (GET /api/v1/users/me)", me, 200, True, read_target, t_me or None),
        Scenario(
            "item list (GET /api/v1/items?limit=10)", reads, 200, True, read_target, t_reads or None
        ),
        Scenario(
            "item create (POST /api/v1/items)", writes, 201, True, write_target, t_writes or None
        ),
        Scenario("order placement (POST /api/v1/orders)", orders, 202, True, write_target),
        # Last: Argon2 hashes still queued in the server's thread pool when wrk stops would
        # slow whatever is measured next.
        Scenario("logins (POST /api/v1/auth/token)", logins, 200),
    ]


def bench_api(
    *,
    workdir: Path,
    seconds: float,
    concurrency: int,
    log: Callable[[str], None] = print,
    template: TemplateSource | None = None,
    template_venvs: Path | None = None,
) -> tuple[list[Comparison], ClientCheck, str | None]:
    """The comparisons, the load generators' check, and the template's commit (when measured)."""
    workdir.mkdir(parents=True, exist_ok=True)
    comparisons = []
    bare = [Request("GET", BARE_PATH)]
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(scratch_database(prefix="shipyard_bench"))
        template_server = None
        if template is not None:
            log("template: fetching, installing (first run: a minute or two) and migrating")
            # An empty database of its own: its tables and Alembic history are not ours.
            template_url = stack.enter_context(
                empty_scratch_database(admin_url(), "shipyard_bench_template")
            )
            template_server = start_template(
                template,
                database_url=template_url,
                workdir=workdir,
                venvs=template_venvs or workdir,
            )
            stack.callback(template_server.stop)
            log(f"template {template_server.commit[:12]} answering at {template_server.url}")
        secret = secrets.token_urlsafe(48)  # one secret: the reference checks the service's tokens
        servers = [
            BenchServer(
                database_url=database_url,
                workdir=workdir,
                extra_env={},
                module=module,
                jwt_secret=secret,
            )
            for module in ("tools.bench.server", "tools.bench.reference")
        ]
        ours, reference = servers
        try:
            for server in servers:
                server.wait_ready()
            users = create_users(ours.url, database_url, concurrency)
            template_users = (
                create_template_users(
                    template_server.url, concurrency, items=ITEMS_PER_USER, password=PASSWORD
                )
                if template_server is not None
                else None
            )

            def measure(
                name: str,
                server: BenchServer | TemplateServer,
                requests: list[Request],
                status: int,
            ) -> LoadResult:
                return run_wrk(
                    name,
                    url=server.url,
                    requests=requests,
                    expected_status=status,
                    concurrency=concurrency,
                    seconds=seconds,
                    server_pid=server.process.pid,
                )

            check = ClientCheck(
                wrk=measure("bare route, wrk", ours, bare, 200),
                python=run_closed_loop(
                    "bare route, Python client",
                    port=ours.port,
                    make_request=lambda _i, _n: Request("GET", BARE_PATH),
                    expected_status=200,
                    concurrency=concurrency,
                    seconds=seconds,
                ),
            )
            log(
                f"load generators on the bare route: wrk {check.wrk.rate:.0f} req/s "
                f"({check.wrk.client_cpu_seconds / check.wrk.seconds:.0%} of a core), Python "
                f"client {check.python.rate:.0f} req/s "
                f"({check.python.client_cpu_seconds / check.python.seconds:.0%} of a core)"
            )
            for scenario in scenarios(users, template_users):
                baseline = measure("bare JSON route", ours, bare, 200)
                measured = measure(scenario.name, ours, scenario.requests, scenario.expected_status)
                limit = None
                if scenario.has_reference:
                    limit = measure(
                        f"reference: {scenario.name}",
                        reference,
                        scenario.requests,
                        scenario.expected_status,
                    )
                theirs = None
                if template_server is not None and scenario.template_requests:
                    theirs = measure(
                        f"template: {scenario.name}",
                        template_server,
                        scenario.template_requests,
                        scenario.template_status,
                    )
                comparison = Comparison(measured, baseline, limit, scenario.target, theirs)
                log(
                    f"{scenario.name}: {measured.rate:.0f} req/s (p99 {measured.p99_ms:.0f} ms) "
                    f"vs bare {baseline.rate:.0f} = {comparison.ratio:.2f}"
                    + (
                        f"; reference {limit.rate:.0f} req/s (p99 {limit.p99_ms:.0f} ms), "
                        f"ours/ref {comparison.reference_ratio:.2f}"
                        if limit is not None
                        else ""
                    )
                    + (
                        f"; template {theirs.rate:.0f} req/s (p99 {theirs.p99_ms:.0f} ms)"
                        if theirs is not None
                        else ""
                    )
                    + (f" ({measured.errors} errors)" if measured.errors else "")
                    + (f" (reference: {limit.errors} errors)" if limit and limit.errors else "")
                )
                comparisons.append(comparison)
        finally:
            for server in servers:
                server.stop()
    return comparisons, check, template_server.commit if template_server is not None else None
