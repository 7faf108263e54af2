"""HAProxy playing the ALB: one backend whose targets are registered and drained at run time.

The rehearsal drives HAProxy only through its runtime API (the admin socket), the way ECS drives
the ALB's target group:

    ALB / ECS                                  HAProxy runtime API
    RegisterTargets, target "initial"          add server (maintenance) + enable health,
                                               state drain (no traffic) + health down
    health checks pass healthyThreshold times  HAProxy's own checks (same path, interval,
                                               rise/fall) bring the server up
    target "healthy": receives traffic         set server state ready
    DeregisterTargets: "draining"              set server state drain
    deregistration delay over                  set server state maint
    target gone                                del server

Two choices keep HAProxy as strict as the ALB, so the rehearsal sees what a client would see:
- `retries 0` and no `option redispatch`: the ALB does not retry a request on another target, and
  a proxy that did would hide exactly the failures the rehearsal looks for;
- idle timeouts of 60 s on both sides, the ALB's idle timeout; the server's keep-alive (75 s) is
  longer, so the proxy closes idle connections, never the server under the proxy's feet.
Each response carries `X-Served-By: <server name>`, which tells old and new replicas apart.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tools.local.processes import start, terminate, wait_until
from tools.rehearsal.settings import RehearsalTimings

BACKEND = "api"

# `show servers state` columns we read (HAProxy 2.x, format version 1).
_OP_STATES = {0: "stopped", 1: "starting", 2: "running", 3: "stopping"}
_ADMIN_MAINT = 0x01 | 0x02 | 0x04 | 0x20  # forced, inherited, configured, resolution maintenance
_ADMIN_DRAIN = 0x08 | 0x10  # forced or inherited drain


class HAProxyError(RuntimeError):
    """HAProxy is missing, refused its configuration, or refused a runtime command."""


def haproxy_binary() -> str:
    path = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if path is None:
        raise HAProxyError(
            "haproxy is not installed; run `bash scripts/install-system-deps.sh` "
            "(Debian/Ubuntu: apt-get install -y haproxy)"
        )
    return path


def render_config(*, port: int, admin_socket: Path, timings: RehearsalTimings) -> str:
    """A frontend on `port` and an empty backend that targets join at run time."""
    check_timeout_ms = round(timings.check_timeout * 1000)
    return f"""\
global
    stats socket {admin_socket} mode 600 level admin
    maxconn 4096
    log stdout format iso local0 info

defaults
    mode http
    log global
    # One line per request with the termination state (e.g. "SC--" = the server refused):
    # the log explains every failure the load generator counts.
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    timeout http-request 10s
    timeout check {check_timeout_ms}ms
    retries 0

frontend web
    bind 127.0.0.1:{port}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
    http-response set-header X-Served-By %[srv_name]
"""


@dataclass(frozen=True)
class ServerState:
    name: str
    port: int
    operational: str  # stopped, starting, running, stopping
    maintenance: bool
    draining: bool

    @property
    def in_rotation(self) -> bool:
        """Receives new requests: up and neither draining nor in maintenance."""
        return self.operational == "running" and not self.maintenance and not self.draining


class RuntimeApi:
    """The admin socket: one command per connection, answers as text."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def expect_silence(self, line: str) -> None:
        """Commands that answer nothing on success; any text is HAProxy saying why not."""
        answer = self.command(line).strip()
        if answer:
            raise HAProxyError(f"HAProxy refused `{line}`: {answer}")

    def servers(self) -> dict[str, ServerState]:
        states: dict[str, ServerState] = {}
        for row in self.command(f"show servers state {BACKEND}").splitlines():
            if not row or row.startswith("#") or row.strip() == "1":
                continue
            cols = row.split()
            admin = int(cols[6])
            states[cols[3]] = ServerState(
                name=cols[3],
                port=int(cols[18]),
                operational=_OP_STATES.get(int(cols[5]), cols[5]),
                maintenance=bool(admin & _ADMIN_MAINT),
                draining=bool(admin & _ADMIN_DRAIN),
            )
        return states

    def server(self, name: str) -> ServerState:
        state = self.servers().get(name)
        if state is None:
            raise HAProxyError(f"backend {BACKEND} has no server {name}")
        return state

    # --- the target group's verbs ------------------------------------------------------------

    def register(self, name: str, port: int, timings: RehearsalTimings) -> None:
        """Add a target in the ALB's "initial" state: health-checked, no traffic until healthy."""
        answer = self.command(
            f"add server {BACKEND}/{name} 127.0.0.1:{port} check "
            f"inter {round(timings.check_interval * 1000)}ms "
            f"rise {timings.healthy_threshold} fall {timings.unhealthy_threshold}"
        )
        if "registered" not in answer:
            raise HAProxyError(f"HAProxy refused to add {name}: {answer.strip()}")
        self.expect_silence(f"enable health {BACKEND}/{name}")
        self.expect_silence(f"set server {BACKEND}/{name} state drain")
        # Dynamic servers start "up"; the ALB starts a target unhealthy until it passes
        # healthyThreshold checks in a row, so start it down and let the checks raise it.
        self.expect_silence(f"set server {BACKEND}/{name} health down")

    def register_unchecked(self, name: str, port: int, timings: RehearsalTimings) -> None:
        """Add a target straight into rotation, before any health check (the broken way)."""
        self.register(name, port, timings)
        self.expect_silence(f"set server {BACKEND}/{name} health up")
        self.expect_silence(f"set server {BACKEND}/{name} state ready")

    def wait_healthy(self, name: str, timeout: float) -> float:
        """Wait until the health checks bring the target up; returns the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.server(name).operational == "running":
                return time.monotonic() - started
            time.sleep(0.05)
        raise HAProxyError(f"{name} did not pass its health checks within {timeout:.1f} s")

    def put_in_rotation(self, name: str) -> None:
        self.expect_silence(f"set server {BACKEND}/{name} state ready")

    def drain(self, name: str) -> None:
        """No new requests; the ones in flight finish (the ALB's "draining")."""
        self.expect_silence(f"set server {BACKEND}/{name} state drain")

    def current_sessions(self, name: str) -> int:
        for row in self.command("show stat").splitlines():
            cols = row.split(",")
            if len(cols) > 4 and cols[0] == BACKEND and cols[1] == name:
                return int(cols[4] or 0)  # scur
        raise HAProxyError(f"backend {BACKEND} has no server {name}")

    def deregister(self, name: str) -> None:
        """Out of the target group: maintenance (no traffic, no checks), then deleted."""
        self.expect_silence(f"set server {BACKEND}/{name} state maint")
        deadline = time.monotonic() + 5
        while True:
            answer = self.command(f"del server {BACKEND}/{name}").strip()
            if "deleted" in answer.lower():
                return
            # HAProxy refuses while a connection to the server is still being torn down.
            if time.monotonic() > deadline:
                raise HAProxyError(f"HAProxy refused to delete {name}: {answer}")
            time.sleep(0.1)


class HAProxy:
    """An HAProxy process in the foreground of a run directory; stopped with `stop()`."""

    def __init__(self, *, workdir: Path, socket_dir: Path, port: int, timings: RehearsalTimings):
        self.port = port
        self.config_path = workdir / "haproxy.cfg"
        self.log_path = workdir / "haproxy.log"
        # Unix socket paths are limited to ~107 bytes: keep it in a short directory.
        self.api = RuntimeApi(socket_dir / "admin.sock")
        self.config_path.write_text(
            render_config(port=port, admin_socket=self.api.path, timings=timings)
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = haproxy_binary()
        check = subprocess.run(
            [binary, "-c", "-q", "-f", str(self.config_path)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise HAProxyError(f"HAProxy refused {self.config_path}:\n{check.stderr}")
        self.process = start([binary, "-db", "-f", str(self.config_path)], log_path=self.log_path)
        try:
            wait_until(self._answers, self.process, self.log_path, timeout=10, what="HAProxy")
        except RuntimeError as exc:
            raise HAProxyError(f"HAProxy did not start: {exc}") from exc

    def _answers(self) -> bool:
        try:
            self.api.command("show info")
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process, stop_timeout=5)
