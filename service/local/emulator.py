"""A local AWS endpoint: moto's server, as its own process on loopback, speaking the real
SNS/SQS wire protocol. Its state lives in memory and ends with the process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

# Any values do for the emulator; they keep boto3 from searching for real credentials.
EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",  # not a secret: the emulator accepts anything
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Emulator:
    def __init__(self, port: int | None = None, *, log: IO[bytes] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> Emulator:
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, a fixed module
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the AWS emulator exited with {self.process.returncode}; "
                    f"is port {self.port} free and moto[server] installed (make install)?"
                )
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).close()  # noqa: S310
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the AWS emulator did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def log_file(state_dir: Path, name: str) -> IO[bytes]:
    state_dir.mkdir(parents=True, exist_ok=True)
    return (state_dir / name).open("ab")
