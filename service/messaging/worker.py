"""The order worker: consumes `order.placed` events from the order-processing FIFO queue.

- Long polling, batches of up to 10.
- While a batch is in hand, a heartbeat extends its visibility, so a slow order is not handed
  to a second worker; the effects are idempotent anyway (see `service/orders/fulfilment.py`).
- A message is deleted only after its database commit. A crash before that leaves it to be
  redelivered after its visibility timeout.
- A database outage is not the message's fault: the message goes back to the queue for one
  visibility timeout and the worker stops receiving until the database answers again (see
  `service/core/db_outage.py`), so an outage never dead-letters a message.
- A message that cannot be handled (malformed, unknown order, a bug) is not deleted:
  it comes back after an exponential backoff and, after the queue's maxReceiveCount receives,
  SQS moves it to the dead-letter queue. The loop never dies of one message. In a FIFO queue,
  the rest of that message's group is released untouched, to keep the group's order.
- Messages of different groups (customers) are handled side by side, `worker_concurrency` at a
  time; a group's own messages strictly one after the other.
- On SIGTERM it stops receiving, finishes the message in hand, releases the rest of the batch
  (visibility 0: another worker takes them at once) and exits 0, within `worker_shutdown_seconds`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from service.core.config import Settings
from service.core.db import Database
from service.core.db_outage import OutageBackoff, describe, is_database_unavailable, ping
from service.messaging.aws import sqs_client
from service.messaging.consumer import QueueConsumer, run_until_signalled
from service.messaging.topology import ORDER_PLACED, ORDER_PROCESSING_QUEUE, TOPOLOGY
from service.models import Base
from service.orders import fulfilment

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

log = logging.getLogger(__name__)

MAX_VISIBILITY_SECONDS = 15 * 60


class PoisonMessageError(Exception):
    """The message can never be handled as it is."""


@dataclass(frozen=True)
class OrderPlaced:
    event_id: str
    order_id: int

    @classmethod
    def parse(cls, body: str) -> OrderPlaced:
        try:
            envelope = json.loads(body)
            if envelope["event_type"] != ORDER_PLACED:
                raise PoisonMessageError(f"unexpected event type {envelope['event_type']!r}")
            order_id = envelope["data"]["order_id"]
            if not isinstance(order_id, int) or isinstance(order_id, bool):
                raise PoisonMessageError("data.order_id is not an integer")
            return cls(event_id=str(envelope["event_id"]), order_id=order_id)
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise PoisonMessageError(f"malformed event: {type(exc).__name__}: {exc}") from exc


class OrderWorker(QueueConsumer):
    label = "worker"

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        sqs: SQSClient | None = None,
        queue_url: str | None = None,
    ) -> None:
        url = queue_url or settings.queue_urls.get(ORDER_PROCESSING_QUEUE)
        if not url:
            env_var = TOPOLOGY.queue(ORDER_PROCESSING_QUEUE).env_var
            raise ValueError(f"{env_var} is not set: the worker has no queue")
        super().__init__(
            sqs=sqs or sqs_client(settings),
            queue_url=url,
            batch_size=settings.worker_batch_size,
            wait_seconds=settings.worker_wait_seconds,
            visibility_timeout=settings.worker_visibility_timeout_seconds,
            attributes=("ApproximateReceiveCount", "MessageGroupId"),
        )
        self.database = database
        self.settings = settings
        self._database_down = threading.Event()  # set by a message that met an outage
        self._outage = OutageBackoff("worker")
        # Message groups (customers) are independent: up to worker_concurrency at once.
        self._pool = ThreadPoolExecutor(settings.worker_concurrency, thread_name_prefix="group")

    # --- the loop (service/messaging/consumer.py) ------------------------------------------------
    def run(self) -> None:
        super().run()
        self._pool.shutdown(wait=True)

    def ready_to_receive(self) -> bool:
        if self._database_down.is_set():  # receiving now would only burn receive counts
            self._wait_for_database()
            return False
        return True

    def handle_batch(self, messages: list[MessageTypeDef]) -> int:
        """Handle a batch: each message group in order, different groups side by side."""
        self.hold(messages)
        groups: dict[str, list[MessageTypeDef]] = {}
        for message in messages:
            # FIFO: the customer's group; a message without one stands alone.
            key = message.get("Attributes", {}).get("MessageGroupId") or message["MessageId"]
            groups.setdefault(key, []).append(message)
        done: list[MessageTypeDef] = []
        try:
            if len(groups) == 1 or self.settings.worker_concurrency == 1:
                for sequence in groups.values():
                    done += self._handle_group(sequence)
            else:
                for handled in self._pool.map(self._handle_group, groups.values()):
                    done += handled
        finally:
            self.delete(done)
            self.forget_all()
        return len(done)

    def _handle_group(self, sequence: list[MessageTypeDef]) -> list[MessageTypeDef]:
        """One group's messages, in order. After a failure (or on stop) the rest of the group is
        handed back untouched: handling a later message first would break the group's order."""
        done: list[MessageTypeDef] = []
        for position, message in enumerate(sequence):
            if self.stop.is_set():
                self.release_all(sequence[position:])
                break
            if not self._handle(message):  # it is backing off now: no heartbeat for it
                self.forget(message)
                self.release_all(sequence[position + 1 :])
                break
            done.append(message)  # kept invisible by the heartbeat until deleted
        return done

    def _handle(self, message: MessageTypeDef) -> bool:
        """True when the message's effect is committed and it may be deleted."""
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        context: dict[str, Any] = {"message_id": message["MessageId"], "receive_count": receives}
        try:
            event = OrderPlaced.parse(message.get("Body", ""))
            context.update(event_id=event.event_id, order_id=event.order_id)
            with self.database.sessions() as session:
                fulfilment.start_processing(session, order_id=event.order_id)
            if self.settings.worker_processing_seconds:
                time.sleep(self.settings.worker_processing_seconds)  # the fulfilment call
            with self.database.sessions() as session:
                status = fulfilment.finish(session, self.settings, order_id=event.order_id)
        except (PoisonMessageError, fulfilment.UnknownOrderError) as exc:
            log.error(
                "poison message; leaving it for the dead-letter queue",
                extra=context | {"error": str(exc)},
            )
            self._back_off(message, receives)
            return False
        except Exception as exc:
            if is_database_unavailable(exc):
                self._hand_back_for_outage(message, context | {"error": describe(exc)})
                return False
            # A bug or a refused write: this message fails, the loop goes on.
            log.exception("message failed; will retry", extra=context | {"error": str(exc)})
            self._back_off(message, receives)
            return False
        log.info("order processed", extra=context | {"status": status.value})
        return True

    # --- database outages -------------------------------------------------------------------------
    @property
    def waiting_for_database(self) -> bool:
        """True while the worker has stopped receiving because its database is unreachable."""
        return self._database_down.is_set()

    def _hand_back_for_outage(self, message: MessageTypeDef, context: dict[str, Any]) -> None:
        """Not poison: the database is down. The message goes back to the queue for one visibility
        timeout (not the poison backoff, which grows from seconds), and the loop stops receiving
        until the database answers, so an outage costs a message one receive, not one per retry.
        Even if receives went on, the queue's maxReceiveCount × visibility timeout outlasts a
        two-minute fail-over (see topology.py)."""
        log.warning("database unavailable; message handed back", extra=context)
        self._database_down.set()
        self.set_visibility(
            message["ReceiptHandle"], self.settings.worker_visibility_timeout_seconds
        )

    def _wait_for_database(self) -> None:
        """Probe the database, backing off, until it answers or the worker is stopped."""
        while not self.stop.is_set():
            problem = ping(self.database.engine)
            if problem is None:
                self._outage.recovered()
                self._database_down.clear()
                return
            self._outage.wait(problem, self.stop)

    # --- failures ------------------------------------------------------------------------------
    def _back_off(self, message: MessageTypeDef, receives: int) -> None:
        delay = self.settings.worker_retry_base_seconds * 2 ** (receives - 1)
        self.set_visibility(message["ReceiptHandle"], min(MAX_VISIBILITY_SECONDS, round(delay)))


def run_worker(settings: Settings) -> int:
    assert Base.metadata.tables  # every model imported: foreign keys resolve
    # A connection per concurrent group, and one for the heartbeat's spare.
    database = Database(
        settings.database_url, pool_size=settings.worker_concurrency + 1, max_overflow=2
    )
    worker = OrderWorker(database, settings)
    ended = run_until_signalled(
        worker, name="worker-loop", grace_seconds=settings.worker_shutdown_seconds
    )
    database.dispose()
    log.info("worker exited", extra={"loop": ended})
    return 0
