"""A local AWS endpoint: moto's server, as its own process on loopback, speaking the real
SNS/SQS wire protocol. Its state lives in memory and ends with the process."""

from __future__ import annotations

import subprocess
from pathlib import Path

from service.local.processes import free_port, start_python, terminate, wait_until_ready

# Any values do for the emulator; they keep boto3 from searching for real credentials.
EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",  # not a secret: the emulator accepts anything
    "AWS_DEFAULT_REGION": "us-east-1",
}


class Emulator:
    def __init__(self, *, log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> Emulator:
        self.process = start_python(
            ["-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env={},
            log_path=self.log_path,
        )
        try:
            wait_until_ready(f"{self.url}/moto-api/", self.process, self.log_path, timeout=timeout)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(
                f"the AWS emulator did not start ({exc}); is moto[server] installed (make install)?"
            ) from exc
        return self

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process, stop_timeout=10)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
