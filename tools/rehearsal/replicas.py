"""Replicas of the service (`python -m service api|worker`), started as ECS would start a task."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tools.local.processes import Exit, free_port, start_python, terminate
from tools.rehearsal.settings import RehearsalTimings


class RolloutError(RuntimeError):
    """The rollout could not go on (a new replica never became healthy); like ECS's circuit
    breaker, the rehearsal stops rather than take healthy capacity away."""


@dataclass
class Replica:
    """One task: its name in the proxy (`v2-1` = version 2, slot 1), port, process and log."""

    name: str
    role: str  # api or worker
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    started_at: float = field(default_factory=time.monotonic)
    exit: Exit | None = None

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, *, stop_timeout: float) -> Exit:
        """SIGTERM and wait, SIGKILL after the stop timeout: what ECS does to a task."""
        if self.exit is None:
            self.exit = terminate(self.process, stop_timeout=stop_timeout)
        return self.exit


def stop_all(replicas: list[Replica], timings: RehearsalTimings) -> None:
    """Clean-up: stop whatever still runs (a stop that fails must not hide the first error)."""
    for replica in replicas:
        with contextlib.suppress(Exception):
            replica.stop(stop_timeout=timings.stop_timeout)


def api_environment(
    *, port: int, database_url: str, jwt_secret: str, timings: RehearsalTimings
) -> dict[str, str]:
    """The environment of an `api` task, as the task definition sets it, scaled for one machine."""
    return {
        "ENVIRONMENT": "staging",  # refuses placeholder secrets, like a real deployment
        "TRUSTED_PROXIES": "127.0.0.1/32",  # HAProxy, on this machine, plays the ALB
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "JWT_SECRET": jwt_secret,  # shared: a token issued by an old task works on a new one
        "GRACEFUL_SHUTDOWN_SECONDS": str(timings.graceful_shutdown),
        "DRAIN_NOTICE_SECONDS": "0",  # as on ECS: the proxy has drained the task before SIGTERM
        "KEEPALIVE_SECONDS": "75",  # above the proxy's 60 s idle timeout, as behind the ALB
        # Two cores run every replica, the proxy, the load and PostgreSQL: keep pools small.
        "DB_POOL_SIZE": "3",
        "DB_MAX_OVERFLOW": "2",
        "RELAY_ENABLED": "false",  # the API rehearsal has no emulator; orders stay in the outbox
        "LOG_LEVEL": "WARNING",
    }


def start_api_replica(
    name: str,
    *,
    workdir: Path,
    database_url: str,
    jwt_secret: str,
    timings: RehearsalTimings,
    extra_env: Mapping[str, str] | None = None,
) -> Replica:
    port = free_port()
    log_path = workdir / f"api-{name}.log"
    env = api_environment(
        port=port, database_url=database_url, jwt_secret=jwt_secret, timings=timings
    )
    process = start_python(
        ["-m", "service", "api"], env={**env, **(extra_env or {})}, log_path=log_path
    )
    return Replica(name=name, role="api", port=port, process=process, log_path=log_path)


def worker_environment(
    *,
    database_url: str,
    jwt_secret: str,
    messaging_env: Mapping[str, str],
    timings: RehearsalTimings,
) -> dict[str, str]:
    """The environment of a `worker` task: `make dev`'s emulator settings, scaled timings."""
    return {
        **messaging_env,
        "ENVIRONMENT": "staging",
        "DATABASE_URL": database_url,
        "JWT_SECRET": jwt_secret,  # not used by the worker, but staging refuses placeholders
        "RELAY_ENABLED": "false",
        "WORKER_SHUTDOWN_SECONDS": str(timings.worker_shutdown),
        # A stopping worker waits for its long poll: keep the poll inside the scaled shutdown.
        "WORKER_WAIT_SECONDS": str(max(0, timings.worker_shutdown - 1)),
        # A message held by a worker that dies comes back after this (60 s on AWS), scaled.
        "WORKER_VISIBILITY_TIMEOUT_SECONDS": str(timings.visibility_timeout),
        "LOG_LEVEL": "INFO",  # the audit counts the "order processed" lines
    }


def start_worker_replica(
    name: str, *, workdir: Path, env: Mapping[str, str], extra_env: Mapping[str, str] | None = None
) -> Replica:
    log_path = workdir / f"worker-{name}.log"
    process = start_python(
        ["-m", "service", "worker"], env={**env, **(extra_env or {})}, log_path=log_path
    )
    return Replica(name=name, role="worker", port=0, process=process, log_path=log_path)


def wait_worker_started(replica: Replica, *, timeout: float) -> float:
    """Until the worker logs that its loop runs (ECS would call it RUNNING a little earlier)."""
    deadline = replica.started_at + timeout
    while time.monotonic() < deadline:
        if not replica.running:
            raise RolloutError(
                f"worker {replica.name} exited with {replica.process.returncode}; "
                f"see {replica.log_path}"
            )
        if '"msg": "worker started"' in replica.log_path.read_text(errors="replace"):
            return time.monotonic() - replica.started_at
        time.sleep(0.1)
    raise RolloutError(f"worker {replica.name} did not start within {timeout:.0f} s")
