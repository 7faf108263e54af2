"""The closed-loop client against a tiny local server: it counts what it must, and only that."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tools.bench.http_load import Request, run_closed_loop


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like uvicorn

    def do_GET(self) -> None:
        status = 404 if self.path == "/missing" else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_answers_with_the_expected_status_are_counted_with_their_latency(port: int) -> None:
    result = run_closed_loop(
        "ok",
        port=port,
        make_request=lambda _i, _n: Request("GET", "/"),
        expected_status=200,
        concurrency=2,
        seconds=0.5,
        warmup_seconds=0.1,
    )
    assert result.requests > 10
    assert result.errors == 0
    assert 0 < result.p50_ms <= result.p99_ms
    assert result.rate == pytest.approx(result.requests / result.seconds)
    assert result.seconds >= 0.5


def test_an_unexpected_status_is_an_error_not_a_request(port: int) -> None:
    result = run_closed_loop(
        "wrong",
        port=port,
        make_request=lambda _i, _n: Request("GET", "/missing"),
        expected_status=200,
        concurrency=1,
        seconds=0.3,
        warmup_seconds=0.0,
    )
    assert result.requests == 0
    assert result.errors > 0


def test_a_refused_connection_is_an_error(port: int) -> None:
    from tools.local.processes import free_port

    result = run_closed_loop(
        "refused",
        port=free_port(),
        make_request=lambda _i, _n: Request("GET", "/"),
        expected_status=200,
        concurrency=1,
        seconds=0.2,
        warmup_seconds=0.0,
    )
    assert result.requests == 0
    assert result.errors > 0
