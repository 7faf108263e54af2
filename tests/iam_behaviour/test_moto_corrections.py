"""Each correction the emulator launcher makes to moto's access control is needed: without it,
a grant that AWS accepts is denied (tools/local/moto_server.py says why each exists)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.local.emulator import Emulator

from .workload_iam import BOOTSTRAP, IamBootstrap, Identity, allow, unique

pytestmark = [pytest.mark.emulator]

TASK_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def publish(sns: Any, topic: str) -> Any:
    return sns.publish(TopicArn=topic, Message="m")


def publish_batch(sns: Any, topic: str) -> Any:
    return sns.publish_batch(
        TopicArn=topic, PublishBatchRequestEntries=[{"Id": "1", "Message": "m"}]
    )


def allowed(emulator: Emulator, call: Callable[[Any, str], Any]) -> bool:
    """With the grant AWS needs for `call` (sns:Publish on the one topic), is it allowed?"""
    emulator.set_iam(enforced=False)
    topic = BOOTSTRAP.client("sns", emulator.url).create_topic(Name=unique("t"))["TopicArn"]
    publisher: Identity = IamBootstrap(emulator.url).role(
        unique("publisher"), TASK_TRUST, allow(["sns:Publish"], [topic])
    )
    emulator.set_iam(enforced=True)
    try:
        call(publisher.client("sns", emulator.url), topic)
    except ClientError as error:
        if error.response["Error"]["Code"] != "AccessDenied":
            raise
        return False
    finally:
        emulator.set_iam(enforced=False)
    return True


@pytest.mark.parametrize(
    ("correction", "call"),
    [("sns-resource", publish), ("batch-actions", publish_batch)],
)
def test_without_the_correction_a_correct_grant_is_denied(
    correction: str, call: Callable[[Any, str], Any], iam_emulator: Emulator, tmp_path: Path
) -> None:
    assert allowed(iam_emulator, call), "with every correction, AWS's grant must be enough"
    with Emulator(log_path=tmp_path / "moto.log", without=[correction]) as uncorrected:
        assert not allowed(uncorrected, call), f"{correction} is no longer needed: drop it"


def test_the_corrections_do_not_loosen_anything(iam_emulator: Emulator) -> None:
    """Another topic, or a batch call to it, stays denied."""
    iam_emulator.set_iam(enforced=False)
    sns = BOOTSTRAP.client("sns", iam_emulator.url)
    mine, other = (sns.create_topic(Name=unique("t"))["TopicArn"] for _ in range(2))
    publisher = IamBootstrap(iam_emulator.url).role(
        unique("publisher"), TASK_TRUST, allow(["sns:Publish"], [mine])
    )
    iam_emulator.set_iam(enforced=True)
    client = publisher.client("sns", iam_emulator.url)
    try:
        for call in (publish, publish_batch):
            with pytest.raises(ClientError, match="AccessDenied"):
                call(client, other)
    finally:
        iam_emulator.set_iam(enforced=False)
