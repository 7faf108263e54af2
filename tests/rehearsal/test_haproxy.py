"""HAProxy driven like the ALB's target group, against a real HAProxy and a tiny backend."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tools.local.processes import free_port
from tools.rehearsal.haproxy import HAProxy, HAProxyError
from tools.rehearsal.settings import RolloutSettings

pytestmark = [
    pytest.mark.slow,  # starts HAProxy processes
    pytest.mark.skipif(
        shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
        reason="haproxy not installed (bash scripts/install-system-deps.sh)",
    ),
]

# 10 s x 0.01: a check every 0.1 s, so a target is healthy after ~0.2 s.
TIMINGS = RolloutSettings(stack="test").scaled(0.01)


class Backend:
    """An HTTP server whose /readyz answers 200 or 503 as the test decides."""

    def __init__(self) -> None:
        self.ready = True
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                ok = self.path != "/readyz" or backend.ready
                self.send_response(200 if ok else 503)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backend() -> Iterator[Backend]:
    server = Backend()
    yield server
    server.close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[HAProxy]:
    socket_dir = Path(tempfile.mkdtemp(prefix="hap-test-"))
    haproxy = HAProxy(workdir=tmp_path, socket_dir=socket_dir, port=free_port(), timings=TIMINGS)
    haproxy.start()
    yield haproxy
    haproxy.stop()
    shutil.rmtree(socket_dir, ignore_errors=True)


def get(proxy: HAProxy) -> httpx.Response:
    return httpx.get(f"{proxy.url}/anything", timeout=5)


def test_a_registered_target_gets_traffic_only_once_healthy_and_put_in_rotation(
    proxy: HAProxy, backend: Backend
) -> None:
    proxy.api.register("a", backend.port, TIMINGS)
    assert not proxy.api.server("a").in_rotation
    assert get(proxy).status_code == 503  # the "initial" state: no traffic yet

    proxy.api.wait_healthy("a", timeout=10)
    assert get(proxy).status_code == 503  # healthy, but ECS has not moved traffic yet

    proxy.api.put_in_rotation("a")
    response = get(proxy)
    assert response.status_code == 200
    assert response.headers["x-served-by"] == "a"


def test_a_drained_target_gets_no_new_requests_and_deregistering_removes_it(
    proxy: HAProxy, backend: Backend
) -> None:
    proxy.api.register("a", backend.port, TIMINGS)
    proxy.api.wait_healthy("a", timeout=10)
    proxy.api.put_in_rotation("a")
    assert get(proxy).status_code == 200

    proxy.api.drain("a")
    state = proxy.api.server("a")
    assert state.draining
    assert not state.in_rotation
    assert get(proxy).status_code == 503

    proxy.api.deregister("a")
    assert "a" not in proxy.api.servers()


def test_a_target_failing_its_checks_never_becomes_healthy(
    proxy: HAProxy, backend: Backend
) -> None:
    backend.ready = False
    proxy.api.register("b", backend.port, TIMINGS)
    with pytest.raises(HAProxyError, match="did not pass its health checks"):
        proxy.api.wait_healthy("b", timeout=1.0)
    assert get(proxy).status_code == 503


def test_traffic_is_shared_by_the_targets_in_rotation(proxy: HAProxy) -> None:
    backends = [Backend(), Backend()]
    try:
        for name, server in zip(("a", "b"), backends, strict=True):
            proxy.api.register(name, server.port, TIMINGS)
            proxy.api.wait_healthy(name, timeout=10)
            proxy.api.put_in_rotation(name)
        served = {get(proxy).headers["x-served-by"] for _ in range(6)}
        assert served == {"a", "b"}
    finally:
        for server in backends:
            server.close()


def test_a_target_put_in_rotation_before_its_checks_pass_fails_requests(proxy: HAProxy) -> None:
    """The `no-readiness-gate` variant: traffic reaches a replica that does not listen yet."""
    not_listening = free_port()
    proxy.api.register_unchecked("early", not_listening, TIMINGS)
    assert proxy.api.server("early").in_rotation
    assert get(proxy).status_code == 503  # the proxy could not connect; the ALB would say 502


def test_the_proxy_is_as_strict_as_the_alb(proxy: HAProxy) -> None:
    config = proxy.config_path.read_text()
    assert "retries 0" in config  # the ALB does not retry on another target either
    assert "http-check send meth GET uri /readyz" in config
    assert f"timeout check {round(TIMINGS.check_timeout * 1000)}ms" in config
