"""wrk, as `make bench` drives it, against a tiny local server: what it counts and what it sends."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tools.bench.cli import main as bench_main
from tools.bench.http_load import Request
from tools.bench.wrk import INSTALL_HINT, process_cpu_seconds, run_wrk, wrk_path

SEEN: list[tuple[str, str, str, bytes]] = []  # (method, path, header, body) as the server got them


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like uvicorn

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        SEEN.append((self.command, self.path, self.headers.get("X-Key", ""), body))
        self.send_response(404 if self.path == "/missing" else 201)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def url() -> Iterator[str]:
    try:
        wrk_path()
    except RuntimeError as exc:
        pytest.skip(str(exc))  # scripts/install-system-deps.sh installs it
    SEEN.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_expected_answers_count_with_their_latency_and_unique_values(url: str) -> None:
    requests = [
        Request("POST", "/a", b'{"title": "t {n}"}', {"X-Key": "key-{n}"}),
        Request("POST", "/b", b'{"title": "t {n}"}', {"X-Key": "key-{n}"}),
    ]
    result = run_wrk(
        "ok",
        url=url,
        requests=requests,
        expected_status=201,
        concurrency=2,
        seconds=1,
        warmup_seconds=0,
        server_pid=os.getpid(),  # the server is a thread of this process
    )
    assert result.requests > 10
    assert result.errors == 0
    assert 0 < result.p50_ms <= result.p99_ms
    assert result.seconds == pytest.approx(1, abs=0.5)
    assert result.client_cpu_seconds > 0
    assert result.server_cpu_seconds > 0
    assert result.server_cpu_ms_per_request > 0
    # Both requests are sent, each `{n}` replaced by a value no other request had.
    assert {path for _, path, _, _ in SEEN} == {"/a", "/b"}
    keys = [key for _, _, key, _ in SEEN]
    assert all(key.startswith("key-") and "{n}" not in key for key in keys)
    assert len(set(keys)) == len(keys)
    assert all(body == f'{{"title": "t {key[4:]}"}}'.encode() for _, _, key, body in SEEN)


def test_an_unexpected_status_is_an_error_not_a_request(url: str) -> None:
    result = run_wrk(
        "wrong",
        url=url,
        requests=[Request("GET", "/missing")],
        expected_status=201,
        concurrency=1,
        seconds=1,
        warmup_seconds=0,
    )
    assert result.requests == 0
    assert result.errors > 0


def test_the_bench_says_what_to_install_when_wrk_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert bench_main(["--skip-orders", "--stacks", "staging"]) == 2
    assert INSTALL_HINT in capsys.readouterr().err


def test_a_process_cpu_time_is_read_and_grows_with_work() -> None:
    before = process_cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert process_cpu_seconds(os.getpid()) - before >= 0.2
    assert process_cpu_seconds(None) == 0.0
