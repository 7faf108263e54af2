"""The AWS emulator and the order topology for one run, as `make dev` sets them up.

The environment handed to `python -m service api|worker` is the one `tools/local/dev.py`
builds: the emulator's credentials and endpoint, the region, and the topic ARNs and queue URLs
that `service.messaging.bootstrap.create_topology` returns (from the same topology declaration
the Pulumi program uses). A fresh name prefix per run keeps runs apart on a shared emulator.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from service.core.config import Settings
from service.messaging.aws import sqs_client
from service.messaging.bootstrap import create_topology
from service.messaging.topology import TOPOLOGY
from tools.local.emulator import EMULATOR_CREDENTIALS, Emulator

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class LocalMessaging:
    emulator_url: str
    env: dict[str, str]  # for the service's processes
    settings: Settings  # for this process's own clients

    def sqs(self) -> SQSClient:
        return sqs_client(self.settings)

    def queue_depth(self, env_var: str) -> int:
        """Messages waiting plus in flight in the queue named by a topology env var."""
        attributes = self.sqs().get_queue_attributes(
            QueueUrl=self.env[env_var],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


@contextmanager
def emulator_credentials() -> Iterator[None]:
    """boto3 in this process talks to the emulator with its dummy credentials, then forgets them."""
    saved = {key: os.environ.get(key) for key in EMULATOR_CREDENTIALS}
    os.environ.update(EMULATOR_CREDENTIALS)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def local_messaging(*, database_url: str, workdir: Path) -> Iterator[LocalMessaging]:
    with emulator_credentials():
        emulator = Emulator(log_path=workdir / "emulator.log").start()
        try:
            base = Settings(
                environment="local", aws_endpoint_url=emulator.url, database_url=database_url
            )
            topology = create_topology(base, prefix=f"r{uuid.uuid4().hex[:10]}")
            env = {
                **EMULATOR_CREDENTIALS,
                "AWS_ENDPOINT_URL": emulator.url,
                "AWS_REGION": base.aws_region,
                **topology,
            }
            yield LocalMessaging(
                emulator_url=emulator.url,
                env=env,
                settings=base.model_copy(update=TOPOLOGY.endpoints_from(topology)),
            )
        finally:
            emulator.stop()
