"""The `order-alerts` Lambda function: failed orders become operator notifications.

SNS invokes it (asynchronously) with the `order-events` topic's messages that pass its filter
policy (only `order.failed`, see service/messaging/topology.py). For each record it writes one
JSON log line and publishes one message to the operator topic (`OPERATOR_TOPIC_ARN`), whose
e-mail and SMS subscribers come from stack config.

Failures raise. An asynchronous invocation that raises is retried by Lambda (twice), then handed
to the function's on-failure destination (a dead-letter queue), so nothing is dropped silently.
All records are attempted before raising; SNS sends one record per invocation, so a retry
repeats at most that one notification (operators may see a duplicate, never a gap).

Environment: `OPERATOR_TOPIC_ARN` (required), `ENVIRONMENT` (named in every message),
`AWS_REGION` (Lambda sets it), `AWS_ENDPOINT_URL` (locally: the emulator).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .events import MalformedEventError, OrderEvent, SnsRecord, order_event, sns_records
from .operator_message import operator_message

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

TOPIC_ARN_ENV = "OPERATOR_TOPIC_ARN"
ENVIRONMENT_ENV = "ENVIRONMENT"

# A few fast retries inside the invocation; Lambda's own retries (minutes apart) come after.
_SNS_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5
)


class NotificationError(RuntimeError):
    """At least one record could not be turned into a notification; the invocation fails."""


class _JsonLines(logging.Handler):
    """One JSON object per line on stdout (CloudWatch Logs keeps each line as one event, and Logs
    Insights reads the fields). stdout is looked up per line, so test capture sees it too."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry: dict[str, Any] = {
                "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                    timespec="milliseconds"
                ),
                "level": record.levelname,
                "logger": record.name,
                "msg": record.getMessage(),
                **getattr(record, "fields", {}),
            }
            sys.stdout.write(json.dumps(entry, default=str) + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


log = logging.getLogger("notifications")
log.handlers[:] = [_JsonLines()]
log.setLevel(logging.INFO)
log.propagate = False  # Lambda's root handler would print every line a second time, unparsed


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point. Returns the operator-topic message id per SNS message id."""
    request_id = getattr(context, "aws_request_id", None)
    try:
        records = sns_records(event)
    except MalformedEventError as exc:
        _log(logging.ERROR, "malformed invocation", request_id=request_id, error=str(exc))
        raise
    topic_arn = os.environ.get(TOPIC_ARN_ENV, "")
    if not topic_arn:
        raise NotificationError(
            f"{TOPIC_ARN_ENV} is not set: give the function the operator topic's ARN "
            "(the Pulumi program sets it from service/messaging/topology.py)"
        )
    environment = os.environ.get(ENVIRONMENT_ENV, "local")
    sns = _sns_client(os.environ.get("AWS_REGION"), os.environ.get("AWS_ENDPOINT_URL"))

    published: dict[str, str] = {}
    errors: list[MalformedEventError | NotificationError] = []
    for record in records:
        try:
            published[record.message_id] = _notify(
                sns, record, topic_arn=topic_arn, environment=environment, request_id=request_id
            )
        except (MalformedEventError, NotificationError) as exc:
            errors.append(exc)
    if len(errors) == 1 and len(records) == 1:
        raise errors[0]  # the usual case (SNS sends one record): its own, precise error
    if errors:
        raise NotificationError(
            f"{len(errors)} of {len(records)} records failed (Lambda retries the invocation, "
            "then sends it to the on-failure destination): " + "; ".join(map(str, errors))
        ) from errors[0]
    return {"published": published}


def _notify(
    sns: SNSClient, record: SnsRecord, *, topic_arn: str, environment: str, request_id: str | None
) -> str:
    context: dict[str, Any] = {
        "request_id": request_id,
        "sns_message_id": record.message_id,
        "source_topic_arn": record.topic_arn,
    }
    try:
        event = order_event(record)
    except MalformedEventError as exc:
        _log(
            logging.ERROR,
            "malformed order event",
            **context,
            error=str(exc),
            message=record.message[:1000],
        )
        raise
    context.update(_event_fields(event))
    message = operator_message(event, environment=environment)
    started = time.monotonic()
    try:
        answer = sns.publish(
            TopicArn=topic_arn,
            Subject=message.subject,
            Message=message.sns_message(),
            MessageStructure="json",
        )
    except (BotoCoreError, ClientError) as exc:
        _log(
            logging.ERROR,
            "operator notification not published; the invocation will fail",
            **context,
            operator_topic_arn=topic_arn,
            error=f"{type(exc).__name__}: {exc}",
        )
        raise NotificationError(
            f"publishing order {event.order_id}'s notification to {topic_arn} failed: {exc}"
        ) from exc
    _log(
        logging.WARNING if event.event_type == "order.failed" else logging.INFO,
        "operator notified",
        **context,
        operator_topic_arn=topic_arn,
        notification_message_id=answer["MessageId"],
        subject=message.subject,
        publish_ms=round((time.monotonic() - started) * 1000, 1),
    )
    return answer["MessageId"]


def _event_fields(event: OrderEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "order_id": event.order_id,
        "customer_id": event.customer_id,
        "total": event.total,
        "reason": event.reason,
    }


def _log(level: int, msg: str, **fields: Any) -> None:
    log.log(level, msg, extra={"fields": fields})


@functools.lru_cache(maxsize=4)
def _sns_client(region: str | None, endpoint_url: str | None) -> SNSClient:
    # Created once per execution environment (and endpoint) and reused by warm invocations.
    return boto3.client("sns", region_name=region, endpoint_url=endpoint_url, config=_SNS_CONFIG)
