"""The transactional outbox: events written in the same transaction as the change they announce.

A row here is the promise that the event will be published: the relay (`relay.py`) publishes
rows in order and marks them sent. Nothing is published that was not committed, and nothing
committed is lost if SNS is down or the process dies.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.core.db import Base, utcnow
from service.messaging.topology import TOPOLOGY


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        # The relay's query: unsent rows in insertion order, per ordering key.
        Index("ix_outbox_events_pending", "sent_at", "ordering_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # insertion order = publication order
    event_id: Mapped[str] = mapped_column(String(36), unique=True)  # also SNS's dedup id
    topic: Mapped[str] = mapped_column(String(64))  # a Topic.key of the topology
    event_type: Mapped[str] = mapped_column(String(64))
    # FIFO topics: the SNS MessageGroupId; events with the same key are published in order.
    ordering_key: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)


def enqueue(
    session: Session,
    *,
    topic: str,
    event_type: str,
    data: dict[str, Any],
    ordering_key: str | None = None,
) -> OutboxEvent:
    """Add an event to the caller's transaction; it is published after the caller commits."""
    topic_spec = TOPOLOGY.topic(topic)
    if topic_spec.fifo and ordering_key is None:
        raise ValueError(f"topic {topic!r} is FIFO: an ordering_key (message group) is required")
    event_id = str(uuid.uuid4())
    occurred_at = utcnow()
    envelope = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": occurred_at.isoformat(),
        "data": data,
    }
    event = OutboxEvent(
        event_id=event_id,
        topic=topic,
        event_type=event_type,
        ordering_key=ordering_key if topic_spec.fifo else None,
        payload=json.dumps(envelope, separators=(",", ":"), default=str),
        created_at=occurred_at,
        next_attempt_at=occurred_at,
    )
    session.add(event)
    return event
