"""Reading what SNS hands a Lambda function: records, and the order event inside each one.

SNS invokes a subscribed function asynchronously with `{"Records": [{"EventSource": "aws:sns",
"Sns": {"MessageId", "TopicArn", "Message", "MessageAttributes", ...}}]}`; the `Message` is the
service's event envelope `{event_id, event_type, occurred_at, data}` (service/messaging/outbox.py).
Anything else is malformed: it is refused with a message that says what is wrong and where.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The SNS message attribute the service sets on every event (service/messaging/topology.py).
EVENT_TYPE_ATTRIBUTE = "event_type"


class MalformedEventError(ValueError):
    """The invocation or one of its records is not what SNS sends for an order event.

    Retrying cannot fix it: after Lambda's retries the event lands in the function's on-failure
    destination, where an operator can read it and fix whatever published it.
    """


@dataclass(frozen=True)
class SnsRecord:
    message_id: str
    topic_arn: str
    subscription_arn: str | None
    timestamp: str | None
    message: str
    event_type_attribute: str | None  # the `event_type` message attribute, if present


@dataclass(frozen=True)
class OrderEvent:
    event_id: str
    event_type: str
    occurred_at: str | None
    order_id: int
    customer_id: int | None
    status: str | None
    total: str | None
    reason: str | None


def sns_records(event: object) -> list[SnsRecord]:
    """The SNS records of one invocation; raises MalformedEventError naming the first problem."""
    if not isinstance(event, Mapping) or not isinstance(event.get("Records"), list):
        raise MalformedEventError(
            "the invocation has no 'Records' list: is this function subscribed to an SNS topic? "
            f"Got keys {_keys(event)}"
        )
    records = event["Records"]
    if not records:
        raise MalformedEventError("the invocation's 'Records' list is empty")
    return [_sns_record(n, record) for n, record in enumerate(records)]


def order_event(record: SnsRecord) -> OrderEvent:
    """The order event carried by one record; raises MalformedEventError if it is not one."""
    where = f"SNS message {record.message_id} from {record.topic_arn}"
    try:
        envelope = json.loads(record.message)
    except json.JSONDecodeError as exc:
        raise MalformedEventError(f"{where}: Message is not JSON ({exc})") from exc
    if not isinstance(envelope, dict):
        raise MalformedEventError(f"{where}: Message is not a JSON object")
    missing = [key for key in ("event_id", "event_type", "data") if key not in envelope]
    if missing:
        raise MalformedEventError(f"{where}: the event envelope lacks {', '.join(missing)}")
    data = envelope["data"]
    if not isinstance(data, dict):
        raise MalformedEventError(f"{where}: 'data' is not a JSON object")
    order_id = data.get("order_id")
    if not isinstance(order_id, int) or isinstance(order_id, bool):
        raise MalformedEventError(f"{where}: data.order_id is {order_id!r}, not an integer")
    customer_id = data.get("customer_id")
    event_type = str(envelope["event_type"])
    if record.event_type_attribute is not None and record.event_type_attribute != event_type:
        # The filter policy matched the attribute; acting on a different body would be a lie.
        raise MalformedEventError(
            f"{where}: attribute event_type={record.event_type_attribute!r} but the body says "
            f"{event_type!r}"
        )
    return OrderEvent(
        event_id=str(envelope["event_id"]),
        event_type=event_type,
        occurred_at=_optional_str(envelope.get("occurred_at")),
        order_id=order_id,
        customer_id=customer_id if _is_int(customer_id) else None,
        status=_optional_str(data.get("status")),
        total=_optional_str(data.get("total")),
        reason=_optional_str(data.get("reason")),
    )


def _sns_record(index: int, record: object) -> SnsRecord:
    if not isinstance(record, Mapping):
        raise MalformedEventError(f"record {index} is not an object")
    if record.get("EventSource") != "aws:sns":
        raise MalformedEventError(
            f"record {index} comes from {record.get('EventSource')!r}, not 'aws:sns'"
        )
    sns = record.get("Sns")
    if not isinstance(sns, Mapping):
        raise MalformedEventError(f"record {index} has no 'Sns' object")
    message_id, message = sns.get("MessageId"), sns.get("Message")
    if not isinstance(message_id, str) or not isinstance(message, str):
        raise MalformedEventError(
            f"record {index}: Sns.MessageId and Sns.Message must be strings; got keys {_keys(sns)}"
        )
    attributes = sns.get("MessageAttributes") or {}
    event_type = attributes.get(EVENT_TYPE_ATTRIBUTE) if isinstance(attributes, Mapping) else None
    return SnsRecord(
        message_id=message_id,
        topic_arn=str(sns.get("TopicArn", "?")),
        subscription_arn=_optional_str(record.get("EventSubscriptionArn")),
        timestamp=_optional_str(sns.get("Timestamp")),
        message=message,
        event_type_attribute=(
            _optional_str(event_type.get("Value")) if isinstance(event_type, Mapping) else None
        ),
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _keys(value: Any) -> list[str]:
    return sorted(str(k) for k in value) if isinstance(value, Mapping) else []
