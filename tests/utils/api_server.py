"""`python -m service api` as a real process on a given database, for attacks that need real
concurrency (threads against a real server, not an in-process client), and what the process
used (its peak memory, read from /proc)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.local.processes import free_port, start_python, tail, terminate, wait_until_ready


@dataclass
class ApiProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    database_url: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def peak_rss_bytes(self) -> int:
        """The process's high-water mark of resident memory (VmHWM), as the kernel counts it."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM in /proc status")

    def log(self) -> str:
        return tail(self.log_path, 60)


@contextmanager
def running_api(database_url: str, workdir: Path, **env: str) -> Iterator[ApiProcess]:
    port = free_port()
    log_path = workdir / f"api-{port}.log"
    process = start_python(
        ["-m", "service", "api"],
        env={
            "DATABASE_URL": database_url,
            "PORT": str(port),
            "RELAY_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            **env,
        },
        log_path=log_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{url}/readyz", process, log_path)
        yield ApiProcess(url, process, log_path, database_url)
    finally:
        terminate(process)
