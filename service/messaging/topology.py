"""The messaging topology, declared once.

Both the Pulumi program (`platform/infra/messaging.py`) and the local emulator bootstrap
(`service/messaging/bootstrap.py`) build topics, queues, subscriptions and dead-letter queues from
this module, so local runs and the cloud cannot drift apart. It imports nothing but the standard
library on purpose: the Pulumi program imports it without the service's dependencies.

    API ─outbox─▶ SNS FIFO "orders" ──raw──▶ SQS FIFO "order-processing" ─▶ worker
    worker ─────▶ SNS "order-events" ─filter─▶ SQS "order-notifications"
                                      └─filter─▶ (Lambda / e-mail, platform-only)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# The SNS message attribute every event carries; subscription filter policies match on it.
EVENT_TYPE_ATTRIBUTE = "event_type"

ORDER_PLACED = "order.placed"
ORDER_COMPLETED = "order.completed"
ORDER_FAILED = "order.failed"


@dataclass(frozen=True)
class Topic:
    key: str
    fifo: bool
    env_var: str  # the setting through which the service learns this topic's ARN
    description: str

    def physical_name(self, prefix: str) -> str:
        return _physical_name(prefix, self.key, self.fifo)


@dataclass(frozen=True)
class Queue:
    key: str
    fifo: bool
    env_var: str | None  # None: no service process reads it (it is for operators or e-mail)
    description: str
    # Long enough for the slowest message handler; the worker extends it while still working.
    visibility_timeout_seconds: int = 60
    message_retention_seconds: int = 4 * 24 * 3600
    receive_wait_time_seconds: int = 20  # long polling
    # After this many receives without a delete, SQS moves the message to the dead-letter queue.
    max_receive_count: int = 5
    dlq_retention_seconds: int = 14 * 24 * 3600  # the SQS maximum: time for a human to look

    def physical_name(self, prefix: str) -> str:
        return _physical_name(prefix, self.key, self.fifo)

    def dlq_physical_name(self, prefix: str) -> str:
        return _physical_name(prefix, f"{self.key}-dlq", self.fifo)

    @property
    def dlq_env_var(self) -> str:
        return f"{self.key.upper().replace('-', '_')}_DLQ_URL"


@dataclass(frozen=True)
class Subscription:
    topic: str  # Topic.key
    queue: str  # Queue.key
    # Raw delivery: the queue receives the event body itself, not SNS's JSON envelope.
    raw_message_delivery: bool = True
    # SNS filter policy on message attributes; None delivers everything.
    filter_policy: MappingProxyType[str, Any] | None = None

    def filter_policy_dict(self) -> dict[str, Any] | None:
        return None if self.filter_policy is None else dict(self.filter_policy)


@dataclass(frozen=True)
class Topology:
    topics: tuple[Topic, ...]
    queues: tuple[Queue, ...]
    subscriptions: tuple[Subscription, ...]
    _topics: dict[str, Topic] = field(init=False, repr=False, compare=False)
    _queues: dict[str, Queue] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_topics", {t.key: t for t in self.topics})
        object.__setattr__(self, "_queues", {q.key: q for q in self.queues})
        for sub in self.subscriptions:
            topic, queue = self.topic(sub.topic), self.queue(sub.queue)
            # A FIFO topic feeds FIFO queues only; a standard topic cannot feed a FIFO queue.
            if topic.fifo != queue.fifo:
                raise ValueError(f"subscription {sub.topic}->{sub.queue}: FIFO flags differ")

    def topic(self, key: str) -> Topic:
        return self._topics[key]

    def queue(self, key: str) -> Queue:
        return self._queues[key]

    def subscriptions_of(self, queue_key: str) -> tuple[Subscription, ...]:
        return tuple(s for s in self.subscriptions if s.queue == queue_key)


def _physical_name(prefix: str, key: str, fifo: bool) -> str:
    name = f"{prefix}-{key}" if prefix else key
    return f"{name}.fifo" if fifo else name


ORDERS_TOPIC = "orders"
ORDER_EVENTS_TOPIC = "order-events"
ORDER_PROCESSING_QUEUE = "order-processing"
ORDER_NOTIFICATIONS_QUEUE = "order-notifications"

TOPOLOGY = Topology(
    topics=(
        Topic(
            key=ORDERS_TOPIC,
            fifo=True,
            env_var="ORDERS_TOPIC_ARN",
            description="order.placed events from the outbox relay, ordered per customer",
        ),
        Topic(
            key=ORDER_EVENTS_TOPIC,
            fifo=False,
            env_var="ORDER_EVENTS_TOPIC_ARN",
            description="order lifecycle events (completed, failed) from the worker, fanned out",
        ),
    ),
    queues=(
        Queue(
            key=ORDER_PROCESSING_QUEUE,
            fifo=True,
            env_var="ORDER_PROCESSING_QUEUE_URL",
            description="orders waiting for the worker",
            visibility_timeout_seconds=60,
            max_receive_count=5,
        ),
        Queue(
            key=ORDER_NOTIFICATIONS_QUEUE,
            fifo=False,
            env_var="ORDER_NOTIFICATIONS_QUEUE_URL",
            description="customer notifications about finished orders",
            visibility_timeout_seconds=30,
            max_receive_count=5,
        ),
    ),
    subscriptions=(
        Subscription(topic=ORDERS_TOPIC, queue=ORDER_PROCESSING_QUEUE),
        Subscription(
            topic=ORDER_EVENTS_TOPIC,
            queue=ORDER_NOTIFICATIONS_QUEUE,
            filter_policy=MappingProxyType({EVENT_TYPE_ATTRIBUTE: [ORDER_COMPLETED, ORDER_FAILED]}),
        ),
    ),
)
