"""Child processes on one machine: free ports, starting a command (`python -m ...` or any other,
e.g. HAProxy) from the repository root, readiness waits, supervising them in the foreground and
ECS-like stops (SIGTERM, SIGKILL after a grace). The one place `make dev`, the emulator, the
tests, the rehearsal and the benchmarks start and stop processes, so they all do it the same way.

Every child runs in its own session (process group): a stop reaches it and its children, and
Ctrl-C in a terminal reaches only the parent, which stops its children in order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from tools.paths import REPO_ROOT


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, log_path: Path | None
) -> subprocess.Popen[bytes]:
    """`argv` from the repository root in a session of its own, with this environment plus `env`;
    its output appended to `log_path`, or on this terminal when None (`make dev`)."""
    log = None
    environment = {**os.environ}
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
        # Log files are read by programs (the rehearsal's audit, tests): JSON lines, even when
        # the shell that started us asked for text (service/core/logs.py).
        environment["LOG_FORMAT"] = "json"
    try:
        return subprocess.Popen(
            list(argv),
            cwd=REPO_ROOT,
            env={**environment, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
        )
    finally:
        if log is not None:
            log.close()  # the child holds its own copy


def start_python(
    args: Sequence[str], *, env: Mapping[str, str], log_path: Path | None
) -> subprocess.Popen[bytes]:
    """`python <args>` (this interpreter), as `start` runs it.

    Children are `ENVIRONMENT=local` unless told otherwise: this launcher only runs processes on
    this machine (make dev, tests, rehearsal, benchmarks); a deployment must set it itself."""
    environment = {"ENVIRONMENT": os.environ.get("ENVIRONMENT", "local"), **env}
    return start([sys.executable, *args], env=environment, log_path=log_path)


def wait_until(
    ready: Callable[[], bool],
    process: subprocess.Popen[bytes],
    log_path: Path | None,
    *,
    timeout: float,
    what: str,
) -> None:
    """Until `ready()` is true; fails at once, with the log's tail, if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{_command(process)} exited with {process.returncode}:\n{tail(log_path)}"
            )
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready within {timeout} s:\n{tail(log_path)}")


def wait_until_ready(
    url: str, process: subprocess.Popen[bytes], log_path: Path | None, *, timeout: float = 60
) -> None:
    """Until `url` answers 200 (see `wait_until`)."""

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback
                return bool(answer.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    wait_until(answers, process, log_path, timeout=timeout, what=url)


def _command(process: subprocess.Popen[bytes]) -> str:
    args = process.args
    return " ".join(map(str, args)) if isinstance(args, list | tuple) else str(args)


@dataclass(frozen=True)
class Exit:
    """How a stopped process ended."""

    code: int
    seconds: float  # from the signal to the exit
    killed: bool  # did not stop within the stop timeout and got SIGKILL, like ECS does

    @property
    def clean(self) -> bool:
        return self.code == 0 and not self.killed


def terminate(process: subprocess.Popen[bytes], *, stop_timeout: float = 30) -> Exit:
    """SIGTERM, then SIGKILL after `stop_timeout` (ECS's stopTimeout), and wait for the exit."""
    started = time.monotonic()
    if process.poll() is not None:
        return Exit(process.returncode, 0.0, killed=False)
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(stop_timeout)
        return Exit(process.returncode, time.monotonic() - started, killed=False)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()
        return Exit(process.returncode, time.monotonic() - started, killed=True)


def kill(process: subprocess.Popen[bytes]) -> Exit:
    """SIGKILL at once (a crash, or a stopTimeout shorter than the work in hand)."""
    started = time.monotonic()
    _signal_group(process, signal.SIGKILL)
    process.wait()
    return Exit(process.returncode, time.monotonic() - started, killed=True)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def supervise(processes: Sequence[subprocess.Popen[bytes]], *, log: logging.Logger) -> int:
    """In the foreground until SIGINT/SIGTERM/SIGHUP (0) or until one of `processes` exits (1);
    the caller then stops the rest (`terminate`), in the order it chooses. SIGHUP is a closed
    terminal: the children run in sessions of their own, so nothing else would stop them."""
    stopping = threading.Event()

    def on_signal(sig: int, _: FrameType | None) -> None:
        log.info("stopping everything", extra={"signal": signal.Signals(sig).name})
        stopping.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)
    while not stopping.wait(0.5):
        for process in processes:
            if process.poll() is not None:
                log.error(
                    "a process died; stopping the rest",
                    extra={"command": _command(process), "exit_code": process.returncode},
                )
                return 1
    return 0


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, sig)


def tail(path: Path | None, lines: int = 40) -> str:
    if path is None:
        return "(its output went to the terminal)"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
