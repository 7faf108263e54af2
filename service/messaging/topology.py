"""The messaging topology, declared once.

Both the Pulumi program (`platform/infra/messaging.py`) and the local emulator bootstrap
(`service/messaging/bootstrap.py`) build topics, queues, subscriptions and dead-letter queues from
this module, so local runs and the cloud cannot drift apart. It imports nothing but the standard
library on purpose: the Pulumi program imports it without the service's dependencies.

    API ─outbox─▶ SNS FIFO "orders" ──raw──▶ SQS FIFO "order-processing" ─▶ worker
    worker ─────▶ SNS "order-events" ─filter─▶ SQS "order-notifications"
                                      └─filter─▶ Lambda "order-alerts" ─▶ SNS "operator-alerts"
                                                                            ─▶ e-mail / SMS

Functions: the topology declares who feeds each one (`FunctionSubscription`: topic, function name,
filter policy), as it declares who feeds each queue; the function itself (code package, entry
point, memory, timeout, retries, reserved concurrency, the topics it publishes) is a `kind:
function` entry of services.yaml, like every other service. Why that split: the subscriptions and
their filters are messaging, which this module declares once for the cloud and the emulator; a
function's code and size are deployment facts, which services.yaml declares for every service.
`infra.service_declaration` checks the two against each other (a subscription naming no declared
function is refused there) and joins them (`Declaration.with_functions`) into the one `Topology`,
with `functions` filled, that the Pulumi program, the emulator bootstrap (one stand-in queue per
function) and the local runner (`python -m tools.local function <name>`) read; this module alone
leaves `functions` empty, since the service at run time needs no function's facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
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
    # True: the outbox relay publishes it, so the relay needs its ARN. False: something else
    # publishes it (the operator-alerts topic is published by the order-alerts function).
    relayed: bool = True
    # True: the stack's operators (shipyard:alert_emails, alert_sms_numbers) subscribe to it by
    # e-mail and SMS. A messaging fact, so it is declared here with the topic, and the platform
    # finds the topic by this flag rather than by name. At most one topic has it, a standard one
    # (SNS delivers e-mail and SMS from standard topics only).
    operators: bool = False

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

    @property
    def outage_tolerance_seconds(self) -> int:
        """The longest database outage that cannot dead-letter a message of this queue.

        The worker hands a message that met an outage back for one visibility timeout V, and
        SQS counts a receive each time it is taken again. Even if the worker went on receiving
        (it does not: it stops until its database answers), it could take the message at most
        once per V; the receive that moves it to the DLQ is the (maxReceiveCount + 1)-th, which
        comes no sooner than maxReceiveCount × V after the first. order-processing: 5 × 60 s =
        300 s, against an RDS fail-over of one to two minutes (tests/messaging check 120 s)."""
        return self.max_receive_count * self.visibility_timeout_seconds

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
class Function:
    """A Lambda function whose code is one package of this repository, shipped alone.

    Built from its `kind: function` entry in services.yaml (infra/service_declaration.py); the
    type lives here, with the standard library only, because the emulator bootstrap and the local
    runner read it too. The package must import nothing outside itself but the standard library
    and boto3 (which Lambda's Python runtime provides), and only relative imports within itself:
    it is deployed as a top-level package named after its last component (`service.notifications`
    -> `notifications/`), so `handler` is the module path Lambda resolves inside that archive.
    """

    key: str
    description: str
    package: str  # dotted name of the package that is the function's whole code
    entry_point: str  # "<module>.<function>" inside that package
    # Topic keys the function publishes to: its role may publish to these and nothing else, and
    # it learns each ARN through the topic's `env_var`.
    publishes: tuple[str, ...] = ()
    timeout_seconds: int = 10
    memory_mb: int = 128
    # Asynchronous invocations (SNS -> Lambda) that raise are retried this many times (Lambda's
    # maximum is 2), then go to the on-failure destination. Locally: the stand-in queue's
    # maxReceiveCount is 1 + this.
    async_retries: int = 2

    @property
    def handler(self) -> str:
        """Lambda's `handler` setting, e.g. "notifications.handler.handler"."""
        return f"{self.archive_folder}.{self.entry_point}"

    @property
    def archive_folder(self) -> str:
        """The folder the package occupies at the root of the deployment archive."""
        return self.package.rsplit(".", 1)[-1]

    @property
    def source_dir(self) -> PurePosixPath:
        """The package's folder relative to the repository root."""
        return PurePosixPath(*self.package.split("."))


@dataclass(frozen=True)
class FunctionSubscription:
    topic: str  # Topic.key (standard topics only: SNS FIFO topics deliver to SQS alone)
    function: str  # Function.key
    # SNS filter policy on message attributes; None delivers everything.
    filter_policy: MappingProxyType[str, Any] | None = None

    def filter_policy_dict(self) -> dict[str, Any] | None:
        return None if self.filter_policy is None else dict(self.filter_policy)


@dataclass(frozen=True)
class Topology:
    topics: tuple[Topic, ...]
    queues: tuple[Queue, ...]
    subscriptions: tuple[Subscription, ...]
    functions: tuple[Function, ...] = ()
    function_subscriptions: tuple[FunctionSubscription, ...] = ()
    _topics: dict[str, Topic] = field(init=False, repr=False, compare=False)
    _queues: dict[str, Queue] = field(init=False, repr=False, compare=False)
    _functions: dict[str, Function] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_topics", {t.key: t for t in self.topics})
        object.__setattr__(self, "_queues", {q.key: q for q in self.queues})
        object.__setattr__(self, "_functions", {f.key: f for f in self.functions})
        operators = [t.key for t in self.topics if t.operators]
        if len(operators) > 1:
            raise ValueError(f"topics {operators}: only one topic may be for operators")
        if any(self.topic(key).fifo for key in operators):
            raise ValueError(f"topic {operators[0]}: SNS sends e-mail and SMS from standard topics")
        for sub in self.subscriptions:
            topic, queue = self.topic(sub.topic), self.queue(sub.queue)
            # A FIFO topic feeds FIFO queues only; a standard topic cannot feed a FIFO queue.
            if topic.fifo != queue.fifo:
                raise ValueError(f"subscription {sub.topic}->{sub.queue}: FIFO flags differ")
        for function in self.functions:
            for key in function.publishes:
                if key not in self._topics:
                    raise ValueError(f"function {function.key} publishes to unknown topic {key!r}")
            if not 0 <= function.async_retries <= 2:
                raise ValueError(f"function {function.key}: Lambda retries 0, 1 or 2 times")
        # A subscription naming no declared function is refused by the declaration's check
        # (infra/service_declaration.py), which knows the functions; this module does not.
        for fsub in self.function_subscriptions:
            if self.topic(fsub.topic).fifo:
                raise ValueError(
                    f"subscription {fsub.topic}->{fsub.function}: SNS FIFO topics deliver to SQS "
                    "queues only; subscribe the function to a standard topic"
                )

    def topic(self, key: str) -> Topic:
        return self._topics[key]

    def queue(self, key: str) -> Queue:
        return self._queues[key]

    def function(self, key: str) -> Function:
        return self._functions[key]

    def subscriptions_of(self, queue_key: str) -> tuple[Subscription, ...]:
        return tuple(s for s in self.subscriptions if s.queue == queue_key)

    def subscriptions_of_function(self, function_key: str) -> tuple[FunctionSubscription, ...]:
        return tuple(s for s in self.function_subscriptions if s.function == function_key)

    @property
    def operators_topic(self) -> Topic | None:
        """The topic the stack's operators subscribe to by e-mail and SMS, if one is declared."""
        return next((t for t in self.topics if t.operators), None)

    @property
    def relayed_topics(self) -> tuple[Topic, ...]:
        """The topics the outbox relay publishes to."""
        return tuple(t for t in self.topics if t.relayed)

    def endpoint_env_vars(self) -> dict[str, dict[str, str]]:
        """Where a process learns each topic's ARN and each queue's URL: setting -> {topic or
        queue key -> environment variable}. The service's settings read exactly these (see
        `Settings.topic_arns`); the platform sets the same variables on its tasks."""
        return {
            "topic_arns": {t.key: t.env_var for t in self.topics},
            "queue_urls": {q.key: q.env_var for q in self.queues if q.env_var},
            "dlq_urls": {q.key: q.dlq_env_var for q in self.queues},
        }

    def endpoints_from(self, environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
        """What `environ` holds under those names, keyed the same way (unset or empty: left
        out). Also turns `create_topology`'s answer into settings fields."""
        return {
            setting: {key: environ[name] for key, name in names.items() if environ.get(name)}
            for setting, names in self.endpoint_env_vars().items()
        }


def _physical_name(prefix: str, key: str, fifo: bool) -> str:
    name = f"{prefix}-{key}" if prefix else key
    return f"{name}.fifo" if fifo else name


ORDERS_TOPIC = "orders"
ORDER_EVENTS_TOPIC = "order-events"
ORDER_PROCESSING_QUEUE = "order-processing"
ORDER_NOTIFICATIONS_QUEUE = "order-notifications"
OPERATOR_ALERTS_TOPIC = "operator-alerts"
ORDER_ALERTS_FUNCTION = "order-alerts"

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
        Topic(
            key=OPERATOR_ALERTS_TOPIC,
            fifo=False,
            env_var="OPERATOR_TOPIC_ARN",
            description="notifications for operators; e-mail and SMS subscribers from stack config",
            relayed=False,
            operators=True,
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
    # The order-alerts function itself is declared in services.yaml (kind: function).
    function_subscriptions=(
        FunctionSubscription(
            topic=ORDER_EVENTS_TOPIC,
            function=ORDER_ALERTS_FUNCTION,
            filter_policy=MappingProxyType({EVENT_TYPE_ATTRIBUTE: [ORDER_FAILED]}),
        ),
    ),
)
