"""The outbox relay: publishes committed outbox events to SNS, in order, at least once.

Each step takes the oldest unsent event of every ordering key (the SNS message group, one per
customer) plus unordered events, publishes them with PublishBatch and marks them sent. Taking
only the *head* of each group is what keeps a customer's events in order even with several
relays: on PostgreSQL the heads are locked `FOR UPDATE SKIP LOCKED`, so another relay skips a
head that is being published and cannot take the event behind it either (it is not a head
until the first is marked sent). SQLite (local runs) has one relay, in the API process.

Failures: a publish that fails is retried with exponential backoff (per event, capped); the
events behind it in its group wait, so nothing is lost or reordered. A crash between publishing
and marking sent republishes the event; FIFO topics drop the duplicate by its deduplication id
(the event id), and consumers are idempotent for the rest.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from service.core.config import Settings
from service.core.db import Database, utcnow
from service.core.db_outage import OutageBackoff, describe, is_database_unavailable
from service.messaging.aws import sns_client
from service.messaging.outbox import OutboxEvent
from service.messaging.topology import EVENT_TYPE_ATTRIBUTE, TOPOLOGY

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchRequestEntryTypeDef

log = logging.getLogger(__name__)

SNS_BATCH_LIMIT = 10  # PublishBatch takes at most 10 entries


def topic_arns_from(settings: Settings) -> dict[str, str]:
    """Topic key -> ARN of every topic the relay publishes to (each read from its topic's
    `env_var`). Topics published by something else (`relayed=False`) are not its business."""
    arns: dict[str, str] = {}
    for topic in TOPOLOGY.relayed_topics:
        arn = settings.topic_arns.get(topic.key)
        if not arn:
            raise ValueError(f"{topic.env_var} is not set: the relay cannot publish {topic.key}")
        arns[topic.key] = arn
    return arns


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        sns: SNSClient | None = None,
        topic_arns: dict[str, str] | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.sns = sns or sns_client(settings)
        self.topic_arns = topic_arns or topic_arns_from(settings)

    def publish_pending(self) -> int:
        """One round, in one transaction: heads, then the heads behind them once those are marked
        sent (visible to this transaction only), up to `relay_batch_size` events. Returns how
        many were published."""
        published = 0
        with self.database.sessions() as session:
            while published < self.settings.relay_batch_size:
                events = self._claim_heads(session, self.settings.relay_batch_size - published)
                if not events:
                    break
                by_topic: dict[str, list[OutboxEvent]] = defaultdict(list)
                for event in events:
                    by_topic[event.topic].append(event)
                sent_now = 0
                for topic, topic_events in by_topic.items():
                    for start in range(0, len(topic_events), SNS_BATCH_LIMIT):
                        chunk = topic_events[start : start + SNS_BATCH_LIMIT]
                        sent_now += self._publish_chunk(topic, chunk)
                session.flush()
                published += sent_now
                if not sent_now:  # SNS is failing: leave the rest to the backoff
                    break
            session.commit()
        return published

    def run(self, stop: threading.Event) -> None:
        """Publish until `stop` is set; idle rounds wait `relay_poll_seconds`."""
        log.info("outbox relay started")
        outage = OutageBackoff("outbox relay")
        while not stop.is_set():
            try:
                published = self.publish_pending()
            except Exception as exc:
                # Database unreachable: the round rolled back, so its place is kept in the
                # outbox itself (unsent rows stay unsent; a row published but not yet marked
                # sent is published again, and the FIFO topic drops the duplicate by its id).
                if is_database_unavailable(exc):
                    outage.wait(describe(exc), stop)
                    continue
                log.exception("outbox relay round failed")  # a bug: log it, wait, go on
                published = 0
            outage.recovered()
            if not published:
                stop.wait(self.settings.relay_poll_seconds)
        log.info("outbox relay stopped")

    def _claim_heads(self, session: Session, limit: int) -> list[OutboxEvent]:
        earlier = aliased(OutboxEvent)
        earlier_unsent = (
            select(earlier.id)
            .where(
                earlier.sent_at.is_(None),
                earlier.ordering_key == OutboxEvent.ordering_key,
                earlier.id < OutboxEvent.id,
            )
            .exists()
        )
        query = (
            select(OutboxEvent)
            .where(
                OutboxEvent.sent_at.is_(None),
                OutboxEvent.next_attempt_at <= utcnow(),
                ~earlier_unsent,
            )
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=OutboxEvent)
        return list(session.execute(query).scalars())

    def _publish_chunk(self, topic: str, events: list[OutboxEvent]) -> int:
        fifo = TOPOLOGY.topic(topic).fifo
        entries: list[PublishBatchRequestEntryTypeDef] = []
        for event in events:
            entry: PublishBatchRequestEntryTypeDef = {
                "Id": str(event.id),
                "Message": event.payload,
                "MessageAttributes": {
                    EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": event.event_type}
                },
            }
            if fifo:
                assert event.ordering_key is not None
                entry["MessageGroupId"] = event.ordering_key
                entry["MessageDeduplicationId"] = event.event_id
            entries.append(entry)
        try:
            answer = self.sns.publish_batch(
                TopicArn=self.topic_arns[topic], PublishBatchRequestEntries=entries
            )
        except (BotoCoreError, ClientError) as exc:
            for event in events:
                self._retry_later(event, f"{type(exc).__name__}: {exc}")
            log.warning(
                "publish failed; will retry",
                extra={"topic": topic, "events": len(events), "error": str(exc)},
            )
            return 0
        now = utcnow()
        by_id = {str(event.id): event for event in events}
        for ok in answer.get("Successful", []):
            by_id[ok["Id"]].sent_at = now
        for failed in answer.get("Failed", []):
            self._retry_later(by_id[failed["Id"]], f"{failed['Code']}: {failed.get('Message')}")
            log.warning("event refused by SNS; will retry", extra={"failure": failed})
        return len(answer.get("Successful", []))

    def _retry_later(self, event: OutboxEvent, error: str) -> None:
        event.attempts += 1
        delay = min(self.settings.relay_max_backoff_seconds, 0.5 * 2 ** (event.attempts - 1))
        delay *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not cryptography
        event.next_attempt_at = utcnow() + timedelta(seconds=delay)
        event.last_error = error[:2000]


class RelayThread:
    """The relay as a daemon thread of another process (the API or the worker)."""

    def __init__(self, relay: OutboxRelay) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=relay.run, args=(self._stop,), name="outbox-relay")
        self._thread.daemon = True

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)
