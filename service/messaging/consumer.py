"""Consuming an SQS queue: the loop, and running it as a process with a clean stop.

`QueueConsumer` is the loop every consumer of ours shares (the order worker, and the local
stand-in for Lambda in tools/local/function_runner.py):

- long-polls its queue until `stop` is set; a receive that fails is logged and retried, the loop
  never dies of SQS;
- messages that arrive after `stop` was set are handed straight back (visibility 0): another
  consumer takes them at once instead of after a visibility timeout;
- with `visibility_timeout` set, it keeps the messages it `hold`s invisible with a heartbeat
  (every third of the timeout) until they are deleted, released or `forget`-ed;
- deletes only what the subclass says succeeded, in one batch call; a delete that fails means
  a redelivery, which the idempotent handlers make harmless.

Subclasses decide what to do with a batch (`handle_batch`, returning how many succeeded) and may
pause receiving (`ready_to_receive`: the worker does while its database is down).

`run_until_signalled` runs a consumer as a process: on SIGTERM/Ctrl-C the consumer's `stop`
event is set; the process then waits, at most `grace_seconds`, for its loop to end: the message
in hand is finished, the rest of the batch released. A long poll in progress is waited for too
(the consumer hands back whatever it returns, visibility 0): leaving it would let SQS give
messages to a connection nobody reads, and they would wait out their visibility timeout. So
`grace_seconds` must exceed the long-poll wait (the settings check it), and stay below ECS's
stopTimeout.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from types import FrameType
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import MessageSystemAttributeNameType
    from mypy_boto3_sqs.type_defs import (
        DeleteMessageBatchRequestEntryTypeDef,
        MessageTypeDef,
        ReceiveMessageRequestTypeDef,
    )

log = logging.getLogger(__name__)

RECEIVE_RETRY_SECONDS = 2


class QueueConsumer:
    """The loop over one queue; see the module docstring. `label` names it in its log lines
    ("worker started"), which are written under the subclass's module logger."""

    label = "consumer"

    def __init__(
        self,
        *,
        sqs: SQSClient,
        queue_url: str,
        batch_size: int,
        wait_seconds: int,
        visibility_timeout: int | None = None,
        attributes: Sequence[MessageSystemAttributeNameType] = ("ApproximateReceiveCount",),
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        # None: the queue's own visibility timeout applies and nothing extends it.
        self.visibility_timeout = visibility_timeout
        self.attributes = list(attributes)
        self.stop = threading.Event()  # set by the signal handler: finish what is in hand
        self.polling = threading.Event()  # set while blocked in a receive with nothing in hand
        self.log = logging.getLogger(type(self).__module__)
        self._in_hand: dict[str, str] = {}  # message id -> receipt handle, kept invisible
        self._lock = threading.Lock()

    # --- what subclasses decide ------------------------------------------------------------------
    def handle_batch(self, messages: list[MessageTypeDef]) -> int:
        """Handle received messages; returns how many succeeded (and were deleted)."""
        raise NotImplementedError

    def ready_to_receive(self) -> bool:
        """False pauses receiving (after waiting for whatever the pause is about)."""
        return True

    def log_context(self) -> dict[str, object]:
        return {"queue_url": self.queue_url}

    # --- the loop --------------------------------------------------------------------------------
    def run(self) -> None:
        if self.visibility_timeout is not None:
            heartbeat = threading.Thread(target=self._heartbeat, name="visibility-heartbeat")
            heartbeat.daemon = True
            heartbeat.start()
        self.log.info(f"{self.label} started", extra=self.log_context())
        while not self.stop.is_set():
            if not self.ready_to_receive():
                continue
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as exc:
                self.log.warning("receive failed; retrying", extra={"error": str(exc)})
                self.stop.wait(RECEIVE_RETRY_SECONDS)
        self.log.info(f"{self.label} stopped", extra=self.log_context())

    def poll_once(self) -> int:
        """One receive and its batch; how many messages succeeded."""
        messages = self.receive()
        return self.handle_batch(messages) if messages else 0

    # --- SQS calls -------------------------------------------------------------------------------
    def receive(self) -> list[MessageTypeDef]:
        self.polling.set()
        request: ReceiveMessageRequestTypeDef = {
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": self.batch_size,
            "WaitTimeSeconds": self.wait_seconds,
            "MessageSystemAttributeNames": self.attributes,
        }
        if self.visibility_timeout is not None:  # else the queue's own applies
            request["VisibilityTimeout"] = self.visibility_timeout
        try:
            answer = self.sqs.receive_message(**request)
        finally:
            self.polling.clear()
        messages = answer.get("Messages", [])
        if messages and self.stop.is_set():  # stopping: hand them straight back
            self.release_all(messages)
            return []
        return messages

    def delete(self, messages: Sequence[MessageTypeDef]) -> None:
        if not messages:
            return
        entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
        ]
        try:
            answer = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            for failed in answer.get("Failed", []):
                self.log.warning(
                    "delete refused; the message will be redelivered (harmless)",
                    extra={"failure": failed},
                )
        except (BotoCoreError, ClientError) as exc:
            self.log.warning(
                "delete failed; messages will be redelivered (harmless)", extra={"error": str(exc)}
            )

    def set_visibility(self, receipt_handle: str, seconds: int) -> None:
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (BotoCoreError, ClientError) as exc:
            self.log.warning("could not change visibility", extra={"error": str(exc)})

    def release_all(self, messages: Iterable[MessageTypeDef]) -> None:
        """Back to the queue at once (visibility 0), for another consumer to take."""
        for message in messages:
            self.forget(message)
            self.set_visibility(message["ReceiptHandle"], 0)

    # --- messages in hand: kept invisible by the heartbeat ---------------------------------------
    def hold(self, messages: Iterable[MessageTypeDef]) -> None:
        with self._lock:
            self._in_hand = {m["MessageId"]: m["ReceiptHandle"] for m in messages}

    def forget(self, message: MessageTypeDef) -> None:
        """Stop extending the message's visibility (released, or backing off)."""
        with self._lock:
            self._in_hand.pop(message["MessageId"], None)

    def forget_all(self) -> None:
        with self._lock:
            self._in_hand = {}

    def _heartbeat(self) -> None:
        """Every third of the visibility timeout, extend it for every message still in hand."""
        assert self.visibility_timeout is not None
        period = max(1.0, self.visibility_timeout / 3)
        while True:
            time.sleep(period)
            with self._lock:
                handles = list(self._in_hand.values())
            for handle in handles:
                self.set_visibility(handle, self.visibility_timeout)


def run_until_signalled(consumer: QueueConsumer, *, name: str, grace_seconds: float) -> str:
    """Run `consumer` until SIGTERM/SIGINT; returns how its loop ended, for the exit log line."""
    # A daemon thread: if it is blocked in a long poll when we leave, it must not keep us alive.
    loop = threading.Thread(target=consumer.run, name=name, daemon=True)
    loop.start()
    stopping = threading.Event()

    def on_signal(sig: int, _: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(sig).name})
        consumer.stop.set()
        stopping.set()

    previous: dict[int, Callable[..., object] | int | None] = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        while loop.is_alive() and not stopping.wait(0.5):
            pass
        loop.join(grace_seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not loop.is_alive():
        return "finished"
    if consumer.polling.is_set():
        return f"left a long poll still open after {grace_seconds} s"
    return f"gave up on the work in hand after {grace_seconds} s"  # it will be redelivered
