"""The order-alerts handler, called with recorded SNS events, publishing to a real emulator."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from service.notifications.events import MalformedEventError
from service.notifications.handler import NotificationError, handler

from .conftest import OPERATOR_TOPIC_ENV, Inbox, recorded_event

CONTEXT = SimpleNamespace(aws_request_id="3f1d2c4b-0000-4000-8000-000000000001")


def log_lines(out: str) -> list[dict[str, Any]]:
    """The handler's JSON log lines from captured stdout (every line must be JSON)."""
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def order_envelope(event: dict[str, Any]) -> dict[str, Any]:
    return json.loads(event["Records"][0]["Sns"]["Message"])


@pytest.mark.usefixtures("function_env")
def test_failed_order_reaches_the_operator_topic_and_the_log(
    operator_inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    event = recorded_event("order_failed")
    envelope = order_envelope(event)

    result = handler(event, CONTEXT)

    (notification,) = operator_inbox.read(expect=1)
    sns_message_id = event["Records"][0]["Sns"]["MessageId"]
    assert result == {"published": {sns_message_id: notification["MessageId"]}}
    assert notification["Subject"] == (
        '[shipyard test] Order 42 failed: "order total 12500.00 exceeds the limit of 10000.00"'
    )
    # An SQS subscriber receives the `default` rendering: the full text.
    body = notification["Message"]
    for expected in ("Order 42 failed", "Environment:  test", envelope["event_id"], "12500.00"):
        assert expected in body
    (line,) = log_lines(capsys.readouterr().out)
    assert line["level"] == "WARNING"
    assert line["logger"] == "notifications"
    assert line["msg"] == "operator notified"
    assert line["order_id"] == 42
    assert line["customer_id"] == 7
    assert line["event_id"] == envelope["event_id"]
    assert line["event_type"] == "order.failed"
    assert line["reason"] == envelope["data"]["reason"]
    assert line["sns_message_id"] == sns_message_id
    assert line["notification_message_id"] == notification["MessageId"]
    assert line["request_id"] == CONTEXT.aws_request_id


@pytest.mark.usefixtures("function_env")
def test_unicode_and_line_breaks_in_the_reason_become_a_valid_subject(
    operator_inbox: Inbox,
) -> None:
    handler(recorded_event("order_failed_unicode_reason"), CONTEXT)

    (notification,) = operator_inbox.read(expect=1)
    subject = notification["Subject"]
    assert subject.isascii()
    assert subject.isprintable()
    assert len(subject) < 100
    assert subject.startswith("[shipyard test] Order 1187 failed: \"item 'Creme brulee")
    assert "Crème brûlée" in notification["Message"]  # the e-mail keeps the original text
    assert "🍮 édition spéciale' is no longer available" in notification["Message"]  # one line


@pytest.mark.usefixtures("function_env")
def test_a_completed_order_let_through_by_a_wider_filter_is_reported_at_info(
    operator_inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    handler(recorded_event("order_completed"), CONTEXT)

    (notification,) = operator_inbox.read(expect=1)
    assert notification["Subject"] == "[shipyard test] Order 1190 completed"
    (line,) = log_lines(capsys.readouterr().out)
    assert line["level"] == "INFO"
    assert line["order_id"] == 1190


@pytest.mark.usefixtures("function_env")
@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("malformed_message_not_json", "Message is not JSON"),
        ("malformed_missing_order_id", "data.order_id is None, not an integer"),
    ],
)
def test_a_malformed_record_is_logged_and_raises_and_nothing_is_published(
    name: str, problem: str, operator_inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    event = recorded_event(name)
    sns_message_id = event["Records"][0]["Sns"]["MessageId"]

    with pytest.raises(MalformedEventError, match=problem) as raised:
        handler(event, CONTEXT)

    assert sns_message_id in str(raised.value)  # the operator can find the message
    (line,) = log_lines(capsys.readouterr().out)
    assert line["level"] == "ERROR"
    assert line["msg"] == "malformed order event"
    assert line["sns_message_id"] == sns_message_id
    assert line["message"] == event["Records"][0]["Sns"]["Message"]
    assert operator_inbox.read(expect=0, timeout=0) == []


@pytest.mark.usefixtures("function_env")
def test_an_event_type_attribute_that_contradicts_the_body_is_refused(
    operator_inbox: Inbox,
) -> None:
    event = recorded_event("order_completed")
    event["Records"][0]["Sns"]["MessageAttributes"]["event_type"]["Value"] = "order.failed"

    with pytest.raises(MalformedEventError, match=r"attribute event_type='order\.failed'"):
        handler(event, CONTEXT)
    assert operator_inbox.read(expect=0, timeout=0) == []


@pytest.mark.usefixtures("function_env")
@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({}, "no 'Records' list"),
        ({"Records": []}, "'Records' list is empty"),
        ({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, "not 'aws:sns'"),
        ({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "{}"}}]}, "MessageId"),
    ],
)
def test_an_invocation_that_is_not_from_sns_raises(event: dict[str, Any], problem: str) -> None:
    with pytest.raises(MalformedEventError, match=problem):
        handler(event, CONTEXT)


@pytest.mark.usefixtures("function_env")
def test_with_one_bad_record_of_two_the_good_one_is_published_and_the_invocation_fails(
    operator_inbox: Inbox,
) -> None:
    good = recorded_event("order_failed")["Records"][0]
    bad = recorded_event("malformed_message_not_json")["Records"][0]

    with pytest.raises(NotificationError, match="1 of 2 records failed") as raised:
        handler({"Records": [bad, good]}, CONTEXT)

    assert isinstance(raised.value.__cause__, MalformedEventError)
    (notification,) = operator_inbox.read(expect=1)
    assert notification["Subject"].startswith("[shipyard test] Order 42 failed")


@pytest.mark.usefixtures("function_env")
def test_a_publish_failure_raises_so_that_lambda_retries(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_topic = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    monkeypatch.setenv(OPERATOR_TOPIC_ENV, missing_topic)

    with pytest.raises(NotificationError, match="publishing order 42's notification") as raised:
        handler(recorded_event("order_failed"), CONTEXT)

    assert missing_topic in str(raised.value)
    (line,) = log_lines(capsys.readouterr().out)
    assert line["level"] == "ERROR"
    assert line["order_id"] == 42
    assert "NotFound" in line["error"]


def test_without_the_operator_topic_the_handler_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(OPERATOR_TOPIC_ENV, raising=False)
    with pytest.raises(NotificationError, match=f"{OPERATOR_TOPIC_ENV} is not set"):
        handler(recorded_event("order_failed"), CONTEXT)
