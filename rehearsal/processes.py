"""Child processes of a rehearsal: free ports, `python -m ...` from the repository root, stops.

Every child runs in its own session (process group), so Ctrl-C in the terminal reaches only the
rehearsal, which then stops its children in order: the load first, then replicas, then the proxy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rehearsal.settings import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_python(
    args: list[str], *, env: Mapping[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@dataclass(frozen=True)
class Exit:
    """How a stopped process ended."""

    code: int
    seconds: float  # from the signal to the exit
    killed: bool  # did not stop within the stop timeout and got SIGKILL, like ECS does

    @property
    def clean(self) -> bool:
        return self.code == 0 and not self.killed


def terminate(process: subprocess.Popen[bytes], *, stop_timeout: float) -> Exit:
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


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
