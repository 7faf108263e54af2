"""`make dev`'s stand-in for Lambda: order-events -> filter -> stand-in queue -> handler, on the
emulator. Only failed orders reach the handler; failures are retried, then parked in the DLQ."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from service.messaging.aws import sns_client, sqs_client
from service.messaging.bootstrap import function_dlq_env_var, function_queue_env_var
from service.messaging.topology import (
    EVENT_TYPE_ATTRIBUTE,
    ORDER_ALERTS_FUNCTION,
    ORDER_COMPLETED,
    ORDER_EVENTS_TOPIC,
    ORDER_FAILED,
    TOPOLOGY,
)
from service.notifications.handler import handler
from tests.messaging.helpers import queue_depth
from tools.local.function_runner import (
    FunctionRunner,
    LocalContext,
    declared_topology,
    lambda_event,
)
from tools.local.processes import start_python, tail, terminate

from .conftest import Inbox, LocalAws, recorded_event

FUNCTION = declared_topology().function(ORDER_ALERTS_FUNCTION)
ORDER_EVENTS_ENV = TOPOLOGY.topic(ORDER_EVENTS_TOPIC).env_var


def publish_order_event(aws: LocalAws, event_type: str, order_id: int) -> str:
    """What the outbox relay publishes to order-events for a finished order."""
    envelope: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": "2025-11-25T15:43:12.481230+00:00",
        "data": {
            "order_id": order_id,
            "customer_id": 7,
            "status": event_type.removeprefix("order."),
            "total": "12500.00",
            "reason": "order total 12500.00 exceeds the limit"
            if event_type == ORDER_FAILED
            else None,
        },
    }
    sns_client(aws.settings).publish(
        TopicArn=aws.env[ORDER_EVENTS_ENV],
        Message=json.dumps(envelope),
        MessageAttributes={EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": event_type}},
    )
    return envelope["event_id"]


class Recorder:
    """Wraps a handler and keeps what it was called with."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        if self.inner is None:
            raise RuntimeError("the handler failed")
        return self.inner(event, context)


def runner(aws: LocalAws, handler: Any) -> FunctionRunner:
    return FunctionRunner(
        aws.settings,
        FUNCTION,
        queue_url=aws.env[function_queue_env_var(FUNCTION)],
        handler=handler,
        wait_seconds=1,
        retry_delay_seconds=0,
    )


def keys(value: Any) -> Any:
    """The shape of a JSON document: nested key sets."""
    if isinstance(value, dict):
        return {k: keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys(v) for v in value]
    return type(value).__name__


@pytest.mark.usefixtures("function_env")
def test_only_failed_orders_reach_the_handler_and_the_operator_topic(
    local_aws: LocalAws, operator_inbox: Inbox
) -> None:
    publish_order_event(local_aws, ORDER_COMPLETED, order_id=1)
    failed_event_id = publish_order_event(local_aws, ORDER_FAILED, order_id=2)
    publish_order_event(local_aws, ORDER_COMPLETED, order_id=3)
    recorder = Recorder(handler)
    function = runner(local_aws, recorder)

    handled = sum(function.poll_once() for _ in range(3))

    assert handled == 1
    (event,) = recorder.events
    (record,) = event["Records"]
    assert json.loads(record["Sns"]["Message"])["event_id"] == failed_event_id
    assert record["Sns"]["TopicArn"] == local_aws.env[ORDER_EVENTS_ENV]
    (notification,) = operator_inbox.read(expect=1)
    assert notification["Subject"] == (
        '[shipyard test] Order 2 failed: "order total 12500.00 exceeds the limit"'
    )
    assert queue_depth(local_aws.settings, function.queue_url) == 0  # deleted after success
    (context,) = recorder.contexts
    assert context.function_name == ORDER_ALERTS_FUNCTION
    assert 0 < context.get_remaining_time_in_millis() <= FUNCTION.timeout_seconds * 1000


@pytest.mark.usefixtures("function_env")
def test_the_handler_gets_the_same_shape_as_a_recorded_sns_event(local_aws: LocalAws) -> None:
    publish_order_event(local_aws, ORDER_FAILED, order_id=5)
    recorder = Recorder(lambda event, context: None)

    assert runner(local_aws, recorder).poll_once() == 1

    (event,) = recorder.events
    recorded = recorded_event("order_failed")
    assert keys(event) == keys(recorded)
    sns = event["Records"][0]["Sns"]
    assert sns["Subject"] is None
    assert sns["MessageAttributes"] == {
        EVENT_TYPE_ATTRIBUTE: {"Type": "String", "Value": "order.failed"}
    }
    assert event["Records"][0]["EventSubscriptionArn"].startswith(local_aws.env[ORDER_EVENTS_ENV])


@pytest.mark.usefixtures("function_env")
def test_a_failing_invocation_is_retried_then_parked_in_the_on_failure_queue(
    local_aws: LocalAws,
) -> None:
    publish_order_event(local_aws, ORDER_FAILED, order_id=9)
    recorder = Recorder(None)  # always raises
    function = runner(local_aws, recorder)

    for _ in range(2 + FUNCTION.async_retries):  # the last receive finds it gone to the DLQ
        assert function.poll_once() == 0

    assert len(recorder.events) == 1 + FUNCTION.async_retries
    message_ids = {e["Records"][0]["Sns"]["MessageId"] for e in recorder.events}
    assert len(message_ids) == 1  # the same SNS message each time, as Lambda retries it
    assert queue_depth(local_aws.settings, function.queue_url) == 0
    dlq = local_aws.env[function_dlq_env_var(FUNCTION)]
    (parked,) = sqs_client(local_aws.settings).receive_message(QueueUrl=dlq, WaitTimeSeconds=1)[
        "Messages"
    ]
    assert json.loads(parked["Body"])["MessageId"] in message_ids


def test_a_body_that_is_not_an_sns_envelope_is_refused() -> None:
    with pytest.raises(ValueError, match="raw delivery off"):
        lambda_event(json.dumps({"event_type": "order.failed"}))
    with pytest.raises(ValueError, match="not JSON"):
        lambda_event("order 42 failed")


def test_the_local_context_counts_down() -> None:
    context = LocalContext("order-alerts", timeout_seconds=10)
    assert 9_000 < context.get_remaining_time_in_millis() <= 10_000
    assert context.invoked_function_arn.endswith(":function:order-alerts")
    assert uuid.UUID(context.aws_request_id)


@pytest.mark.slow
def test_python_m_service_alerts_runs_the_handler_and_stops_cleanly_on_sigterm(
    local_aws: LocalAws, operator_inbox: Inbox, tmp_path: Path
) -> None:
    log_path = tmp_path / "alerts.log"
    env = {
        **local_aws.env,
        "AWS_ENDPOINT_URL": str(local_aws.settings.aws_endpoint_url),
        "AWS_REGION": local_aws.settings.aws_region,
        "ENVIRONMENT": "local",
    }
    # What `make dev` runs for each declared function.
    command = ["-m", "tools.local", "function", FUNCTION.key]
    process = start_python(command, env=env, log_path=log_path)
    try:
        publish_order_event(local_aws, ORDER_FAILED, order_id=77)
        (notification,) = operator_inbox.read(expect=1, timeout=30)
        assert notification["Subject"].startswith("[shipyard local] Order 77 failed")
    finally:
        code = terminate(process).code
    assert code == 0, tail(log_path)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert any(line["msg"] == "operator notified" and line["order_id"] == 77 for line in lines)
    assert any(line["msg"] == "invocation succeeded" for line in lines)


def test_python_m_service_alerts_without_make_dev_says_what_is_missing(tmp_path: Path) -> None:
    log_path = tmp_path / "alerts.log"
    env = {k: "" for k in os.environ if k.endswith(("_FUNCTION_QUEUE_URL", "_TOPIC_ARN"))}
    process = start_python(["-m", "tools.local", "alerts"], env=env, log_path=log_path)
    assert process.wait(30) == 2
    assert f"{function_queue_env_var(FUNCTION)} is not set" in log_path.read_text()
    assert "make dev" in log_path.read_text()


def test_the_runner_refuses_a_name_services_yaml_does_not_declare(tmp_path: Path) -> None:
    log_path = tmp_path / "function.log"
    command = ["-m", "tools.local", "function", "order-refunds"]
    process = start_python(command, env={}, log_path=log_path)
    assert process.wait(30) == 2
    assert "'order-refunds' is not a declared function" in log_path.read_text()
    assert f"['{FUNCTION.key}']" in log_path.read_text()  # what services.yaml does declare
