"""Fixtures for the order-alerts function: recorded SNS events, a topology of its own on the
session's emulator, the function's environment, and an inbox subscribed to the operator topic.

events/*.json are SNS -> Lambda invocations in the shape AWS documents for Lambda's SNS events
(`Records[].Sns` with `SigningCertUrl`, `UnsubscribeUrl`, `Subject: null`, `MessageAttributes`
as `{Type, Value}`), carrying the envelopes the service's outbox relay publishes.
test_function_runner.py checks that the local runner produces the same shape from the emulator.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service.core.config import Settings
from service.messaging.aws import sns_client, sqs_client
from service.messaging.bootstrap import create_topology
from service.messaging.topology import OPERATOR_ALERTS_TOPIC, TOPOLOGY
from tools.local.emulator import Emulator
from tools.local.function_runner import declared_topology

EVENTS = Path(__file__).parent / "events"
OPERATOR_TOPIC_ENV = TOPOLOGY.topic(OPERATOR_ALERTS_TOPIC).env_var


def recorded_event(name: str) -> dict[str, Any]:
    """A fresh copy of events/<name>.json (tests may change it)."""
    return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))


@dataclass
class LocalAws:
    settings: Settings
    env: dict[str, str]  # what the bootstrap returned: topic ARNs, queue URLs


@pytest.fixture
def local_aws(emulator: Emulator) -> LocalAws:
    settings = Settings(environment="local", aws_endpoint_url=emulator.url, relay_enabled=False)
    prefix = f"n{uuid.uuid4().hex[:10]}"
    # With services.yaml's functions: the order-alerts stand-in queue too, as `make dev` has it.
    topology = declared_topology()
    return LocalAws(settings, create_topology(settings, prefix=prefix, topology=topology))


@pytest.fixture
def function_env(monkeypatch: pytest.MonkeyPatch, local_aws: LocalAws) -> dict[str, str]:
    """The environment the platform gives the function (here: pointed at the emulator)."""
    env = {
        OPERATOR_TOPIC_ENV: local_aws.env[OPERATOR_TOPIC_ENV],
        "ENVIRONMENT": "test",
        "AWS_REGION": local_aws.settings.aws_region,
        "AWS_ENDPOINT_URL": str(local_aws.settings.aws_endpoint_url),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


class Inbox:
    """An SQS queue subscribed to a topic with raw delivery off: each message is SNS's envelope,
    so the test sees the Subject and the Message that subscribers without a rendering of their
    own (SQS, HTTPS) receive: the `default` one."""

    def __init__(self, settings: Settings, topic_arn: str) -> None:
        self.sqs = sqs_client(settings)
        self.url = self.sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns_client(settings).subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "false"},
        )

    def read(self, *, expect: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Receive and delete until `expect` envelopes arrived, or a second passes without any
        once time is up; returns every envelope received (more than `expect` if more came)."""
        envelopes: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(envelopes) < expect and time.monotonic() < deadline:
            envelopes += self._receive_once()
        envelopes += self._receive_once()  # anything extra that should not be there
        return envelopes

    def _receive_once(self) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        bodies = []
        for message in answer.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return bodies


@pytest.fixture
def operator_inbox(local_aws: LocalAws) -> Inbox:
    return Inbox(local_aws.settings, local_aws.env[OPERATOR_TOPIC_ENV])
