"""`make dev` leaves nothing behind however it is stopped: Ctrl-C, SIGTERM, or the terminal
closing (SIGHUP). Its children run in sessions of their own (so Ctrl-C reaches only the
supervisor, which stops them in order); a signal the supervisor did not handle would leave the
emulator and the alerts runner running with nobody to stop them."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.utils.dev_system import start_dev_system
from tests.utils.process_table import alive, descendants
from tools.local.processes import tail

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name
)
def test_every_child_is_gone_after_a_stop_signal(tmp_path: Path, stop: signal.Signals) -> None:
    system = start_dev_system(tmp_path)
    dev, log_path = system.process, system.log_path
    children = descendants(dev.pid)
    try:
        assert len(children) >= 4, f"emulator, api, worker, alerts: {children}"
        os.kill(dev.pid, stop)  # the supervisor only, as a terminal or ECS would
        assert dev.wait(60) == 0, tail(log_path)
        deadline = time.monotonic() + 10
        while [p for p in children if alive(p)] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [p for p in children if alive(p)] == [], tail(log_path)
    finally:
        if dev.poll() is None:
            dev.kill()
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
