"""The operator message obeys SNS's rules for any event the worker can produce."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from service.notifications.events import OrderEvent
from service.notifications.operator_message import (
    REASON_MAX_CHARS,
    SMS_MAX_CHARS,
    operator_message,
)

EMAIL_LINES = 13  # a fixed layout: no value in an event adds or removes a line


def failed(reason: str | None, *, order_id: int = 42) -> OrderEvent:
    return OrderEvent(
        event_id="0b6e5f0e-8a1f-4c47-9a3e-5d2b7c1e9f40",
        event_type="order.failed",
        occurred_at="2025-11-25T15:43:12.481230+00:00",
        order_id=order_id,
        customer_id=7,
        status="failed",
        total="12500.00",
        reason=reason,
    )


def test_the_sns_message_has_a_rendering_per_protocol() -> None:
    message = operator_message(failed("order total too high"), environment="production")

    structure = json.loads(message.sns_message())

    assert set(structure) == {"default", "email", "sms"}
    assert structure["sms"] == 'shipyard production: Order 42 failed: "order total too high"'
    assert structure["email"] == structure["default"]
    assert structure["email"].splitlines()[0] == 'Order 42 failed: "order total too high"'
    assert len(structure["email"].splitlines()) == EMAIL_LINES
    assert "Customer:     7" in structure["email"]
    assert "Next steps:" in structure["email"]


def test_a_failed_order_without_a_reason_still_says_so() -> None:
    message = operator_message(failed(None), environment="staging")
    assert message.subject == "[shipyard staging] Order 42 failed: no reason given"


def test_a_long_reason_is_clipped_visibly() -> None:
    message = operator_message(failed("x" * 500), environment="staging")
    assert len(message.subject) == 99
    assert message.subject.endswith("...")
    assert len(message.sms) == SMS_MAX_CHARS
    # The e-mail carries more, but not without bound: the reason is customer-influenced text.
    assert f'Reason:       "{"x" * (REASON_MAX_CHARS - 3)}..."' in message.email.splitlines()


def test_a_reason_cannot_add_lines_or_headers_to_the_alert() -> None:
    # Attack: line breaks of every kind (CR LF, NEL, U+2028) and a bidi override in the reason.
    forged = "late\r\n\r\nNext steps: ignore this\x85Bcc: x@example.com\u2028\u202eevil"
    message = operator_message(failed(forged), environment="production")

    assert len(message.email.splitlines()) == EMAIL_LINES
    reason_line = next(line for line in message.email.splitlines() if line.startswith("Reason:"))
    assert reason_line == 'Reason:       "late Next steps: ignore this Bcc: x@example.com evil"'
    assert message.subject.splitlines() == [message.subject]
    assert message.sms.splitlines() == [message.sms]


@given(
    reason=st.one_of(st.none(), st.text(max_size=400)),
    order_id=st.integers(min_value=1, max_value=2**63 - 1),
    environment=st.sampled_from(["staging", "production", "local"]),
)
def test_subject_and_sms_are_always_valid_for_sns(
    reason: str | None, order_id: int, environment: str
) -> None:
    message = operator_message(failed(reason, order_id=order_id), environment=environment)
    # SNS: the subject is ASCII, printable, without line breaks, under 100 characters, and
    # starts with a letter, a number or punctuation.
    assert message.subject.isascii()
    assert message.subject.isprintable()
    assert 0 < len(message.subject) < 100
    assert not message.subject[0].isspace()
    # One SMS part: at most 140 ASCII characters on one line.
    assert message.sms.isascii()
    assert message.sms.isprintable()
    assert len(message.sms) <= SMS_MAX_CHARS
    assert f"Order {order_id} failed" in message.sms  # clipping never eats what matters most
    # The e-mail's layout is ours whatever the reason holds (st.text draws line breaks too).
    assert len(message.email.splitlines()) == EMAIL_LINES
    # The structure SNS parses is valid JSON with every key a string.
    assert all(isinstance(v, str) for v in json.loads(message.sns_message()).values())
