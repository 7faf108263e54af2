"""The production server as a process: SIGTERM drains in-flight requests, then exits 0.

This is what ECS does to a task after the load balancer has deregistered it, and what a
rolling deployment relies on to drop nothing.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.core.db import make_engine
from service.migrations.runner import upgrade
from tests.utils.sockets import wait_for_accepted_connections
from tests.utils.users import PASSWORD, create_ready_user
from tools.local.processes import free_port, start_python, tail, terminate, wait_until_ready

pytestmark = pytest.mark.slow


class Api:
    def __init__(self, tmp_path: Path, **env: str) -> None:
        url = self.database_url = f"sqlite:///{tmp_path / 'drain.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "api.log"
        self.process = start_python(
            ["-m", "service", "api"],
            env={
                "DATABASE_URL": url,
                "PORT": str(self.port),
                "RELAY_ENABLED": "false",
                # Eight logins at once for one account from one address are in-flight attempts
                # the throttle counts; this test is about the drain, not the throttle.
                "LOGIN_MAX_FAILURES": "20",
                **env,
            },
            log_path=self.log,
        )
        wait_until_ready(f"{self.base}/readyz", self.process, self.log)

    def sigterm(self) -> None:
        self.process.send_signal(signal.SIGTERM)


@pytest.fixture
def api(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Api]:
    env = getattr(request, "param", {})
    server = Api(tmp_path, **env)
    yield server
    terminate(server.process)


def slow_body(seconds: float) -> Iterator[bytes]:
    """A request body trickled over `seconds`: the request is in flight all that time."""
    payload = json.dumps({"title": "slow", "price": "1.00", "description": "x" * 50}).encode()
    step = max(1, len(payload) // 10)
    for start in range(0, len(payload), step):
        yield payload[start : start + step]
        time.sleep(seconds / 10)


def test_sigterm_finishes_in_flight_requests_and_exits_0(api: Api) -> None:
    email = "drain@example.com"
    create_ready_user(api.database_url, email, PASSWORD)
    token = httpx.post(
        f"{api.base}/api/v1/auth/token", data={"username": email, "password": PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    results: list[int | str] = []

    def slow_create() -> None:
        try:
            response = httpx.post(
                f"{api.base}/api/v1/items", headers=headers, content=slow_body(2.0), timeout=30
            )
            results.append(response.status_code)
        except httpx.HTTPError as exc:
            results.append(f"{type(exc).__name__}: {exc}")

    def login() -> None:
        try:
            response = httpx.post(
                f"{api.base}/api/v1/auth/token",
                data={"username": email, "password": PASSWORD},
                timeout=30,
            )
            results.append(response.status_code)
        except httpx.HTTPError as exc:
            results.append(f"{type(exc).__name__}: {exc}")

    # Logins first: their connections queue ahead of the slow creates' in the listener's FIFO
    # accept queue, so once the server holds the slow creates it has taken the logins too.
    logins = [threading.Thread(target=login) for _ in range(8)]
    creates = [threading.Thread(target=slow_create) for _ in range(3)]
    threads = logins + creates
    for thread in logins:
        thread.start()
    time.sleep(0.1)
    for thread in creates:
        thread.start()
    # In flight: the server holds the slow creates (their bodies take 2 s) and, queued ahead of
    # them, the logins. A fixed sleep alone raced the listener's close on a loaded machine.
    wait_for_accepted_connections(api.process.pid, api.port, len(creates))
    time.sleep(0.3)
    sent_at = time.monotonic()
    api.sigterm()
    for thread in threads:
        thread.join(30)

    code = api.process.wait(30)
    assert code == 0, tail(api.log)
    assert sorted(results, key=str) == sorted([201] * 3 + [200] * 8, key=str), results
    assert time.monotonic() - sent_at < 20  # well inside the graceful cap
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{api.base}/healthz", timeout=2)
    log = api.log.read_text()
    assert '"drain started"' in log
    assert "Traceback" not in log


@pytest.mark.parametrize("api", [{"DRAIN_NOTICE_SECONDS": "1.5"}], indirect=True)
def test_readyz_turns_503_during_the_drain_notice_while_requests_still_work(api: Api) -> None:
    assert httpx.get(f"{api.base}/readyz").status_code == 200
    api.sigterm()
    time.sleep(0.3)
    ready = httpx.get(f"{api.base}/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable"}  # up or down only; the cause is logged
    assert httpx.get(f"{api.base}/healthz").status_code == 200  # still serving during notice
    assert api.process.wait(30) == 0


@pytest.mark.parametrize("api", [{"GRACEFUL_SHUTDOWN_SECONDS": "1"}], indirect=True)
def test_graceful_cap_bounds_the_drain(api: Api) -> None:
    def stuck() -> None:
        # The body takes 8 s to arrive: longer than the cap; the server must not wait for it.
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                f"{api.base}/api/v1/users",
                content=slow_body(8.0),
                headers={"Content-Type": "application/json"},
                timeout=30,
            )

    thread = threading.Thread(target=stuck, daemon=True)
    thread.start()
    wait_for_accepted_connections(api.process.pid, api.port, 1)
    started = time.monotonic()
    api.sigterm()
    assert api.process.wait(15) == 0
    assert time.monotonic() - started < 5


def server_processes(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


@pytest.mark.parametrize("api", [{"WEB_CONCURRENCY": "2"}], indirect=True)
def test_web_concurrency_serves_from_that_many_processes_and_drains_them_all(api: Api) -> None:
    children = server_processes(api.process.pid)
    assert len(children) == 2  # the control is the default: one process, no children
    email = "processes@example.com"
    created = httpx.post(f"{api.base}/api/v1/users", json={"email": email, "password": PASSWORD})
    assert created.status_code == 202
    for _ in range(10):  # fresh connections: the kernel hands them to either process
        assert httpx.get(f"{api.base}/readyz").status_code == 200
    api.sigterm()
    assert api.process.wait(30) == 0, tail(api.log)
    assert all(not Path(f"/proc/{child}").exists() for child in children)
    log = api.log.read_text()
    assert log.count('"drain started"') == 2  # each process drained its own requests
    assert "Traceback" not in log


def test_a_single_process_by_default(api: Api) -> None:
    assert server_processes(api.process.pid) == []
