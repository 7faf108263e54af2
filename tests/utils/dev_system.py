"""`python -m tools.local dev` (what `make dev` runs) as a test starts it: a free port, a SQLite
file and state folder of the test's own, ready when `/readyz` answers."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tools.local.processes import free_port, start_python, terminate, wait_until_ready


@dataclass(frozen=True)
class DevSystem:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    database_url: str  # where a test makes ready accounts (tests/utils/users.create_ready_user)


def start_dev_system(workdir: Path) -> DevSystem:
    port = free_port()
    log_path = workdir / "dev.log"
    database_url = f"sqlite:///{workdir / 'dev.db'}"
    process = start_python(
        ["-m", "tools.local", "dev"],
        env={
            "PORT": str(port),
            "DATABASE_URL": database_url,
            "DEV_STATE_DIR": str(workdir),
            "LOG_LEVEL": "INFO",
        },
        log_path=log_path,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{base_url}/readyz", process, log_path, timeout=90)
    except BaseException:
        terminate(process)
        raise
    return DevSystem(process, base_url, log_path, database_url)
