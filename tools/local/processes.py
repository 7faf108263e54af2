"""Child processes on one machine: free ports, `python -m ...` from the repository root,
readiness waits and ECS-like stops. Shared by the emulator, the tests, the rehearsal and the
benchmarks, so they start and stop processes the same way.

Every child runs in its own session (process group): a stop reaches it and its children, and
Ctrl-C in a terminal reaches only the parent, which stops its children in order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tools.paths import REPO_ROOT


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_python(
    args: list[str], *, env: Mapping[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """`python <args>` from the repository root, its output appended to `log_path`.

    Children are `ENVIRONMENT=local` unless told otherwise: this launcher only runs processes on
    this machine (make dev, tests, rehearsal, benchmarks); a deployment must set it itself."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            env={"ENVIRONMENT": "local", **os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_ready(
    url: str, process: subprocess.Popen[bytes], log_path: Path, *, timeout: float = 60
) -> None:
    """Until `url` answers 200; fails at once, with the log's tail, if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{_command(process)} exited with {process.returncode}:\n{tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready within {timeout} s:\n{tail(log_path)}")


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


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, sig)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
