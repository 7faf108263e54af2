"""Attacks on `python -m service api` as a real process that only a real server can show (issue 23):
slow readers holding the database pool, oversized request heads, and clients that hang up in the
middle of an answer. Each failed against the release before issue 23 (notes in the README's
security section).

The slow readers are bounded (50 sockets on loopback, each with a 4 KiB receive buffer, each
pipelining three large answers it never reads) and what is asserted is an outcome, not a speed:
ordinary requests sent meanwhile are answered 200 within a generous 5 s, where the previous
release made them wait for the pool's 30 s timeout and then answered 503.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.api_server import ApiProcess, running_api
from tests.utils.databases import migrated_database, migrated_postgres_database
from tests.utils.sockets import accepted_connections, wait_for_accepted_connections
from tests.utils.users import register_and_login

pytestmark = pytest.mark.slow

SLOW_READERS = 50
# Answers each reader asks for at once: more than loopback's largest send buffer (tcp_wmem, 4 MiB)
# holds, so the server really is left with an answer it cannot write.
PIPELINED = 8
ANSWERS_WITHIN_SECONDS = 5.0  # generous: a healthy server answers in milliseconds
ITEMS = 100
DESCRIPTION = "d" * 10_000  # 100 of these make each list answer about 1 MB


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with migrated_postgres_database("shipyard_server_attacks") as url:
        yield url


def _slow_reader(port: int, request: bytes, copies: int) -> socket.socket:
    """A client that asks for `copies` answers at once and never reads one of them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: sets the window
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(request * copies)
    return sock


@pytest.mark.postgres
def test_fifty_slow_readers_do_not_starve_other_requests(postgres_url: str, tmp_path: Path) -> None:
    # A small pool makes the old failure quick to show: 3 connections for the whole api.
    env = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "1"}
    with running_api(postgres_url, tmp_path, **env) as api:
        http = httpx.Client(base_url=api.url, timeout=60)
        owner = register_and_login(http, database_url=postgres_url)
        for n in range(ITEMS):
            created = http.post(
                "/api/v1/items",
                headers=owner.headers,
                json={"title": f"item {n}", "price": "1.00", "description": DESCRIPTION},
            )
            assert created.status_code == 201, created.text
        request = (
            b"GET /api/v1/items?limit=100 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + owner.access_token.encode() + b"\r\n\r\n"
        )
        readers = [_slow_reader(api.port, request, PIPELINED) for _ in range(SLOW_READERS)]
        try:
            time.sleep(2)  # every reader's first answer is written and stuck in its buffers
            answers = []
            for _ in range(5):
                with httpx.Client(base_url=api.url, timeout=ANSWERS_WITHIN_SECONDS) as fresh:
                    try:
                        answers.append(
                            fresh.get("/api/v1/items?limit=1", headers=owner.headers).status_code
                        )
                        answers.append(
                            fresh.get("/api/v1/users/me", headers=owner.headers).status_code
                        )
                    except httpx.TimeoutException as exc:
                        answers.append(type(exc).__name__)  # type: ignore[arg-type]
        finally:
            for reader in readers:
                reader.close()
    assert answers == [200] * 10, f"{answers}\n{api.log()}"


def test_an_answer_nobody_reads_is_dropped_after_the_write_timeout(tmp_path: Path) -> None:
    # Without a write timeout a reader that never reads holds its request's task and buffers for
    # as long as it keeps the socket open. Control: the same reader while the timeout has not
    # passed is still held.
    with (
        migrated_database("sqlite", tmp_path) as url,
        running_api(url, tmp_path, WRITE_TIMEOUT_SECONDS="3") as api,
    ):
        http = httpx.Client(base_url=api.url, timeout=60)
        owner = register_and_login(http, database_url=url)
        for n in range(ITEMS):
            http.post(
                "/api/v1/items",
                headers=owner.headers,
                json={"title": f"item {n}", "price": "1.00", "description": DESCRIPTION},
            ).raise_for_status()
        http.close()
        request = (
            b"GET /api/v1/items?limit=100 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + owner.access_token.encode() + b"\r\n\r\n"
        )
        reader = _slow_reader(api.port, request, PIPELINED)
        try:
            wait_for_accepted_connections(api.process.pid, api.port, 1)
            assert accepted_connections(api.process.pid, api.port) == 1  # held while it is due
            deadline = time.monotonic() + 30
            while accepted_connections(api.process.pid, api.port) and time.monotonic() < deadline:
                time.sleep(0.2)
            held = accepted_connections(api.process.pid, api.port)
        finally:
            reader.close()
    assert held == 0, f"the server still holds the reader's connection\n{api.log()}"


# --- request heads -----------------------------------------------------------------------------


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[ApiProcess]:
    with migrated_database("sqlite", tmp_path) as url, running_api(url, tmp_path) as api:
        yield api


def _send_and_read_status(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        with contextlib.suppress(OSError):  # the server may hang up before we finish sending
            sock.sendall(data)
        received = b""
        with contextlib.suppress(OSError):
            while b"\r\n" not in received:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        return received.split(b"\r\n", 1)[0]


def test_a_huge_request_header_is_refused_with_431(sqlite_api: ApiProcess) -> None:
    # Attack: a 32 MiB header, which the previous release read whole and answered 200.
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " + b"a" * (32 * 1024 * 1024)
    status = _send_and_read_status(sqlite_api.port, head + b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 431"), status
    # A head of ordinary size still works, on a new connection.
    ordinary = httpx.get(f"{sqlite_api.url}/healthz", headers={"X-Filler": "a" * 8000})
    assert ordinary.status_code == 200


def test_many_headers_adding_up_past_the_limit_are_refused(sqlite_api: ApiProcess) -> None:
    lines = b"".join(b"X-H%d: %s\r\n" % (n, b"v" * 1000) for n in range(200))  # ~200 KiB
    status = _send_and_read_status(
        sqlite_api.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + lines + b"\r\n"
    )
    assert status.startswith(b"HTTP/1.1 431"), status


# --- clients that hang up ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_clients_hanging_up_mid_answer_leave_no_error_lines(tmp_path: Path, backend: str) -> None:
    with (
        migrated_database(backend, tmp_path) as url,
        running_api(url, tmp_path, LOG_LEVEL="INFO") as api,
    ):
        http = httpx.Client(base_url=api.url, timeout=60)
        owner = register_and_login(http, database_url=url)
        for n in range(20):
            http.post(
                "/api/v1/items",
                headers=owner.headers,
                json={"title": f"item {n}", "price": "1.00", "description": DESCRIPTION},
            ).raise_for_status()
        auth = b"Authorization: Bearer " + owner.access_token.encode() + b"\r\n"
        for _ in range(10):
            # Hang up while the answer is being written...
            sock = _slow_reader(
                api.port, b"GET /api/v1/items?limit=100 HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n", 3
            )
            sock.recv(100)
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            sock.close()  # SO_LINGER 0: a reset, as a client that crashes sends
            # ...and while the request body is still being read.
            with socket.create_connection(("127.0.0.1", api.port), timeout=10) as partial:
                partial.sendall(
                    b"POST /api/v1/items HTTP/1.1\r\nHost: x\r\n"
                    + auth
                    + b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"title"'
                )
        assert http.get("/healthz").status_code == 200
        time.sleep(1)
        log = api.log_path.read_text()
    errors = [
        line for line in log.splitlines() if '"level": "ERROR"' in line or "Traceback" in line
    ]
    assert not errors, "\n".join(errors[:5])
