"""A local AWS endpoint: moto's server, as its own process on loopback, speaking the real
SNS/SQS wire protocol. Its state lives in memory and ends with the process."""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tools.local.processes import free_port, start_python, terminate, wait_until_ready

# Any values do for the emulator; they keep boto3 from searching for real credentials.
EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",  # not a secret: the emulator accepts anything
    "AWS_DEFAULT_REGION": "us-east-1",
}


class Emulator:
    def __init__(
        self, *, log_path: Path, port: int | None = None, without: Sequence[str] = ()
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        # Corrections of moto's access control to leave out (tests that show each is needed).
        self.without = tuple(without)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> Emulator:
        skipped = [arg for name in self.without for arg in ("--without", name)]
        self.process = start_python(
            # moto's server with its IAM checks corrected to AWS's (tools/local/moto_server.py).
            ["-m", "tools.local.moto_server", *skipped, "-H", "127.0.0.1", "-p", str(self.port)],
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

    def set_iam(self, *, enforced: bool) -> None:
        """Enforced: from now on every request must be signed by a known identity and allowed
        by its policies (moto's access control; off by default). Process-wide: give tests that
        enforce it an emulator of their own."""
        request = urllib.request.Request(  # noqa: S310 - our own loopback server
            f"{self.url}/moto-api/reset-auth",
            # How many requests are still let through unchecked.
            data=b"0" if enforced else b"inf",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            if answer.status != 200:
                raise RuntimeError(f"the emulator refused to enforce IAM: {answer.status}")

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process, stop_timeout=10)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
