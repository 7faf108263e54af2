"""The rehearsal's handle on the load generator process (`python -m tools.rehearsal.load`)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.local.accounts import AccountError, create_ready_accounts
from tools.local.processes import kill, start_python, terminate
from tools.rehearsal.load import PASSWORD as LOAD_PASSWORD


class LoadError(RuntimeError):
    """The load generator could not start its users or did not write its records."""


@dataclass
class LoadProcess:
    process: subprocess.Popen[bytes]
    status_path: Path
    out_path: Path

    @classmethod
    def start(
        cls,
        *,
        base_url: str,
        database_url: str,
        workdir: Path,
        concurrency: int,
        max_seconds: float,
        mix: str = "api",
        rate: float = 0,
        seed: int = 1,
    ) -> LoadProcess:
        status_path, out_path = workdir / "load-status.json", workdir / "load-records.json"
        # One ready account per simulated user, made the way an operator makes one.
        accounts_path = workdir / "load-accounts.json"
        emails = [f"load-{uuid.uuid4().hex[:12]}@example.com" for _ in range(concurrency)]
        try:
            create_ready_accounts(database_url, emails, LOAD_PASSWORD)
        except AccountError as exc:
            raise LoadError(f"the load's accounts could not be made: {exc}") from exc
        accounts_path.write_text(json.dumps(emails))
        # Its output (stderr's progress lines) shows in the terminal; in a session of its own,
        # Ctrl-C reaches the rehearsal, which stops the load itself.
        process = start_python(
            [
                "-m",
                "tools.rehearsal.load",
                f"--base-url={base_url}",
                f"--out={out_path}",
                f"--status={status_path}",
                f"--accounts={accounts_path}",
                f"--concurrency={concurrency}",
                f"--max-seconds={max_seconds}",
                f"--mix={mix}",
                f"--rate={rate}",
                f"--seed={seed}",
            ],
            env={},
            log_path=None,
        )
        return cls(process, status_path, out_path)

    def status(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.status_path.read_text()))
        except (FileNotFoundError, ValueError):
            return {"phase": "starting", "sent": 0, "failed": 0, "set_up_failures": 0}

    def wait_running(self, timeout: float = 120) -> None:
        """Wait until every simulated user has an account, a token and items."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if self.process.poll() is not None:
                raise LoadError(f"the load generator exited with {self.process.returncode}")
            if status["phase"] == "running":
                if status["set_up_failures"]:
                    raise LoadError(
                        f"{status['set_up_failures']} simulated user(s) could not log in or "
                        "create items before the rollout; the service is not healthy"
                    )
                return
            time.sleep(0.1)
        raise LoadError(f"the load generator did not finish setting up within {timeout:.0f} s")

    def wait_for(self, *, seconds: float, min_requests: int = 0, cap: float = 600) -> None:
        """Let the load run at least `seconds`, and on until `min_requests` (within `cap`)."""
        started = time.monotonic()
        while self.process.poll() is None:
            elapsed = time.monotonic() - started
            if elapsed >= cap or (elapsed >= seconds and self.status()["sent"] >= min_requests):
                return
            time.sleep(0.1)

    def stop(self) -> dict[str, Any]:
        """Stop (requests in flight finish) and return the records the generator wrote."""
        if terminate(self.process, stop_timeout=60).killed:
            raise LoadError("the load generator did not stop within 60 s of SIGTERM")
        if not self.out_path.exists():
            raise LoadError(f"the load generator exited {self.process.returncode} without records")
        return dict(json.loads(self.out_path.read_text()))

    def kill(self) -> None:
        if self.process.poll() is None:
            kill(self.process)
