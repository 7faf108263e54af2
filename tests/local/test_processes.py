"""The one process helper (tools/local/processes.py) that `make dev`, the emulator, the rehearsal,
the benchmarks and the tests start, wait for and stop their processes with."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.utils.process_table import alive
from tools.local.processes import (
    STOP_SIGNALS,
    free_port,
    kill,
    start,
    start_python,
    supervise,
    terminate,
    wait_until,
    wait_until_ready,
)

SERVE = (
    "import http.server, sys\n"
    "http.server.test(http.server.SimpleHTTPRequestHandler, port=int(sys.argv[1]), "
    "bind='127.0.0.1')\n"
)
IGNORES_SIGTERM = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


def test_a_started_server_is_waited_for_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "server.log"
    process = start_python(["-c", SERVE, str(port)], env={}, log_path=log_path)
    wait_until_ready(f"http://127.0.0.1:{port}/", process, log_path, timeout=30)
    stopped = terminate(process, stop_timeout=10)
    assert not stopped.killed
    assert stopped.seconds < 10


def test_children_run_local_unless_told_otherwise(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    log_path = tmp_path / "env.log"
    show = "import os; print(os.environ['ENVIRONMENT'], os.environ['EXTRA'])"
    process = start_python(["-c", show], env={"EXTRA": "given"}, log_path=log_path)
    assert process.wait(30) == 0
    assert log_path.read_text().strip() == "local given"


def test_a_child_writing_to_a_log_file_logs_json_whatever_the_shell_asked(
    tmp_path: Path, monkeypatch
) -> None:
    """The rehearsal's audit and the tests parse these files."""
    monkeypatch.setenv("LOG_FORMAT", "text")
    show = "import os; print(os.environ['LOG_FORMAT'])"
    to_file = start_python(["-c", show], env={}, log_path=tmp_path / "a.log")
    chosen = start_python(["-c", show], env={"LOG_FORMAT": "text"}, log_path=tmp_path / "b.log")
    assert to_file.wait(30) == chosen.wait(30) == 0
    assert (tmp_path / "a.log").read_text().strip() == "json"
    assert (tmp_path / "b.log").read_text().strip() == "text"  # the caller's own choice wins


def test_a_process_that_ignores_sigterm_is_killed_after_the_stop_timeout(tmp_path: Path) -> None:
    log_path = tmp_path / "stubborn.log"
    process = start_python(["-c", IGNORES_SIGTERM], env={}, log_path=log_path)
    wait_until(lambda: "ready" in log_path.read_text(), process, log_path, timeout=30, what="it")
    stopped = terminate(process, stop_timeout=0.5)
    assert stopped.killed
    assert stopped.code == -signal.SIGKILL
    assert not stopped.clean


def test_kill_reaches_the_whole_process_group(tmp_path: Path) -> None:
    """Each child runs in a session of its own; a stop reaches its children too."""
    pid_file = tmp_path / "grandchild.pid"
    parent = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    process = start_python(["-c", parent], env={}, log_path=tmp_path / "parent.log")
    wait_until(pid_file.exists, process, None, timeout=30, what="the grandchild")
    time.sleep(0.1)  # the pid is written before the file is closed
    grandchild = int(pid_file.read_text())
    assert kill(process).killed
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(grandchild):
        time.sleep(0.05)
    assert not alive(grandchild)


def test_a_process_that_exits_while_awaited_fails_at_once_with_its_log(tmp_path: Path) -> None:
    log_path = tmp_path / "dies.log"
    process = start_python(
        ["-c", "print('no database'); raise SystemExit(3)"], env={}, log_path=log_path
    )
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="exited with 3:\nno database"):
        wait_until(lambda: False, process, log_path, timeout=30, what="it")
    assert time.monotonic() - started < 10


def test_start_runs_any_command(tmp_path: Path) -> None:
    log_path = tmp_path / "echo.log"
    process = start(["sh", "-c", "echo $GREETING"], env={"GREETING": "hello"}, log_path=log_path)
    assert process.wait(10) == 0
    assert log_path.read_text() == "hello\n"


def test_supervise_returns_1_when_a_child_dies(tmp_path: Path) -> None:
    sleeper = start_python(["-c", "import time; time.sleep(60)"], env={}, log_path=tmp_path / "a")
    dies = start_python(["-c", "raise SystemExit(2)"], env={}, log_path=tmp_path / "b")
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    try:
        assert supervise([sleeper, dies], log=logging.getLogger("test")) == 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        terminate(sleeper, stop_timeout=5)


@pytest.mark.parametrize(
    "stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name
)
def test_supervise_returns_0_on_a_stop_signal(tmp_path: Path, stop: signal.Signals) -> None:
    # SIGHUP: the terminal closed. The children are in sessions of their own and get nothing.
    sleeper = start_python(["-c", "import time; time.sleep(60)"], env={}, log_path=tmp_path / "a")
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    timer = threading.Timer(0.5, os.kill, (os.getpid(), stop))
    try:
        timer.start()
        assert supervise([sleeper], log=logging.getLogger("test")) == 0
        assert sleeper.poll() is None  # the caller stops the children, in its own order
    finally:
        timer.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        terminate(sleeper, stop_timeout=5)
