"""The consume loop the worker and the local function runner share (service/messaging/consumer.py),
on a fake SQS client: what every consumer gets without writing it again."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from service.messaging import consumer
from service.messaging.consumer import QueueConsumer

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef


class FakeSqs:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.visibility: list[tuple[str, int]] = []
        self.deleted: list[str] = []
        self.receives: list[dict[str, Any]] = []

    def receive_message(self, **request: Any) -> dict[str, Any]:
        self.receives.append(request)
        answer = self.answers.pop(0) if self.answers else {}
        if isinstance(answer, Exception):
            raise answer
        return answer

    def change_message_visibility(self, **request: Any) -> None:
        self.visibility.append((request["ReceiptHandle"], request["VisibilityTimeout"]))

    def delete_message_batch(self, **request: Any) -> dict[str, Any]:
        self.deleted += [entry["ReceiptHandle"] for entry in request["Entries"]]
        return {}


def message(n: int) -> MessageTypeDef:
    return {"MessageId": f"m{n}", "ReceiptHandle": f"r{n}", "Body": "{}"}


class Recorder(QueueConsumer):
    """Succeeds with even message numbers; stops after `batches` batches."""

    def __init__(self, sqs: FakeSqs, batches: int, **kwargs: Any) -> None:
        super().__init__(sqs=sqs, queue_url="q", batch_size=10, wait_seconds=0, **kwargs)  # type: ignore[arg-type]
        self.batches = batches
        self.seen: list[str] = []

    def handle_batch(self, messages: list[Any]) -> int:
        self.seen += [m["MessageId"] for m in messages]
        done = [m for m in messages if int(m["MessageId"][1:]) % 2 == 0]
        self.delete(done)
        self.batches -= 1
        if self.batches == 0:
            self.stop.set()
        return len(done)


def test_a_failed_receive_is_retried_and_only_successes_are_deleted(monkeypatch) -> None:
    monkeypatch.setattr(consumer, "RECEIVE_RETRY_SECONDS", 0)
    refused = ClientError({"Error": {"Code": "Throttled", "Message": "slow down"}}, "Receive")
    sqs = FakeSqs([refused, {"Messages": [message(1), message(2)]}])
    loop = Recorder(sqs, batches=1)
    loop.run()
    assert loop.seen == ["m1", "m2"]
    assert sqs.deleted == ["r2"]  # m1 failed: left for redelivery and, in time, the DLQ
    assert len(sqs.receives) == 2


def test_messages_that_arrive_while_stopping_are_handed_straight_back() -> None:
    sqs = FakeSqs([{"Messages": [message(1), message(2)]}])
    loop = Recorder(sqs, batches=99)
    loop.stop.set()  # SIGTERM during the long poll
    assert loop.receive() == []
    assert sqs.visibility == [("r1", 0), ("r2", 0)]
    assert loop.seen == []


def test_visibility_is_asked_for_only_when_the_consumer_manages_it() -> None:
    own, queue_default = FakeSqs([]), FakeSqs([])
    Recorder(own, batches=1, visibility_timeout=30).receive()
    Recorder(queue_default, batches=1).receive()
    assert own.receives[0]["VisibilityTimeout"] == 30
    assert "VisibilityTimeout" not in queue_default.receives[0]


def test_the_heartbeat_extends_only_messages_still_in_hand(monkeypatch) -> None:
    sqs = FakeSqs([])
    loop = Recorder(sqs, batches=1, visibility_timeout=3)
    loop.hold([message(1), message(2)])
    loop.forget(message(2))  # released or backing off: it must become visible again
    periods: list[float] = []

    def one_period(seconds: float) -> None:
        if periods:
            raise EndOfTestError  # the heartbeat loops for ever (a daemon thread): one round
        periods.append(seconds)

    monkeypatch.setattr("service.messaging.consumer.time.sleep", one_period)
    with contextlib.suppress(EndOfTestError):
        loop._heartbeat()
    assert periods == [1.0]  # a third of the timeout, at least a second
    assert sqs.visibility == [("r1", 3)]


class EndOfTestError(Exception):
    pass
