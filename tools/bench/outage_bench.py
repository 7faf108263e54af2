"""Database outages under traffic, one row per outage length (issue 17).

The drill is the proof in `tests/e2e/test_database_outage.py`, run as it is (real processes: the
api, the outbox relay and the worker on a throw-away PostgreSQL cluster that is stopped and started
again, clients reading, writing and placing orders) with `DB_OUTAGE_SECONDS` set to each length.
Running the test itself, instead of a copy of it, means a row is only written for an outage the
service survived by every rule the test asserts (2xx or an honest 503, nothing dropped, every
order completed exactly once, nothing dead-lettered, no traceback); the test writes its figures
to `DB_OUTAGE_REPORT` after its last assertion. A failed drill is reported as failed, with where to
read why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.local.databases import admin_url
from tools.paths import REPO_ROOT

DRILL = "tests/e2e/test_database_outage.py"


@dataclass(frozen=True)
class OutageResult:
    outage_seconds: float  # asked for
    figures: dict[str, float | int] | None  # None: the drill failed (see log_path)
    log_path: Path
    wall_seconds: float

    @property
    def passed(self) -> bool:
        return self.figures is not None


def run_drill(outage_seconds: float, *, workdir: Path, log: Callable[[str], None]) -> OutageResult:
    workdir.mkdir(parents=True, exist_ok=True)
    report = workdir / f"outage-{outage_seconds:g}s.json"
    log_path = workdir / f"outage-{outage_seconds:g}s.log"
    report.unlink(missing_ok=True)
    env = {
        **os.environ,
        "DB_OUTAGE_SECONDS": str(outage_seconds),
        "DB_OUTAGE_REPORT": str(report),
        # The shared server only answers the test session's own checks; the drill owns a cluster.
        "TEST_POSTGRES_URL": admin_url(),
        "REQUIRE_POSTGRES": "1",  # a drill that skips must say so, not pass silently
    }
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", DRILL]
    log(f"database outage drill, {outage_seconds:g} s: {' '.join(command[1:])}")
    started = time.monotonic()
    with log_path.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=output, stderr=output)
        _heartbeat(process, outage_seconds, started, log)
    wall = time.monotonic() - started
    passed = process.returncode == 0 and report.exists()
    figures = json.loads(report.read_text()) if passed else None
    if figures is None:
        log(f"outage drill {outage_seconds:g} s FAILED (exit {process.returncode}); see {log_path}")
    else:
        log(f"outage drill {outage_seconds:g} s passed in {wall:.0f} s")
    return OutageResult(outage_seconds, figures, log_path, wall)


def _heartbeat(
    process: subprocess.Popen[bytes],
    outage_seconds: float,
    started: float,
    log: Callable[[str], None],
) -> None:
    """Wait for the drill, saying every 15 s that it is still going (it takes a minute or more)."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(15):
            log(f"  outage drill {outage_seconds:g} s running, {time.monotonic() - started:.0f} s")

    threading.Thread(target=beat, daemon=True).start()
    try:
        process.wait()
    finally:
        done.set()


def render_rows(results: list[OutageResult]) -> list[str]:
    """The RESULTS.md section: one row per outage length."""
    lines = [
        "",
        "## Database outage under traffic (issue 17)",
        "",
        f"The proof in `{DRILL}`, run as it is with each outage length: the api, the outbox "
        "relay and the worker on a throw-away PostgreSQL cluster that is stopped (every session "
        "cut, new connections refused, as in an RDS fail-over) and started again, while clients "
        "read item lists, create items and place orders (retrying a 503 with the same "
        "idempotency key) and probe `/readyz` and `/healthz`. A row is written only when every "
        "assertion of the test held: 2xx or 503 (`database_unavailable`, `Retry-After`) and 503s "
        "only inside the outage, nothing dropped, every accepted order completed exactly once, "
        "nothing dead-lettered, no traceback, every process still running.",
        "",
        "| outage | requests | 2xx | 503 | dropped | other 5xx | 4xx | /readyz 200 after | "
        "first 2xx after | orders accepted | completed once | dead-lettered | drill |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in results:
        f = result.figures
        if f is None:
            lines.append(
                f"| {result.outage_seconds:g} s | – | – | – | – | – | – | – | – | – | – | – | "
                f"**failed** (log: `{result.log_path.relative_to(REPO_ROOT)}`) |"
            )
            continue
        lines.append(
            f"| {f['outage_seconds']:g} s | {f['requests']:,} | {f['ok']:,} | "
            f"{f['unavailable']:,} | **{f['dropped']}** | **{f['other_5xx']}** | "
            f"{f['other_4xx']} | {f['ready_after_seconds']:g} s | "
            f"{f['first_ok_after_seconds']:g} s | {f['orders_accepted']} | "
            f"{f['orders_completed_once']} | **{f['dead_lettered']}** | "
            f"passed ({result.wall_seconds:.0f} s) |"
        )
    return lines
