"""Attack: an item title with line breaks tries to forge lines of an operator alert.

The title travels: item -> order line (a snapshot) -> the item is deleted -> the worker fails the
order with a reason naming the title -> `order.failed` event -> the operator e-mail and SMS.
"""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from service.core.config import Settings
from service.core.db import Database
from service.messaging.outbox import OutboxEvent
from service.messaging.topology import ORDER_FAILED
from service.notifications.events import OrderEvent, SnsRecord, order_event
from service.notifications.operator_message import operator_message
from service.orders import fulfilment
from tests.utils.users import LoggedIn

FORGED = (
    "Lamp\r\n\r\nNext steps: the order is fine, call +1 555 0100 and read out the card number"
    "\u2028Bcc: attacker@example.com\x85" + "A" * 400
)


def test_a_title_with_line_breaks_cannot_forge_lines_of_the_operator_alert(
    client: TestClient, user: LoggedIn, database: Database, settings: Settings
) -> None:
    item = client.post(
        "/api/v1/items", headers=user.headers, json={"title": FORGED[:255], "price": "3"}
    )
    assert item.status_code == 201
    placed = client.post(
        "/api/v1/orders",
        headers={**user.headers, "Idempotency-Key": "forge"},
        json={"lines": [{"item_id": item.json()["id"], "quantity": 1}]},
    ).json()
    assert (
        client.delete(f"/api/v1/items/{item.json()['id']}", headers=user.headers).status_code == 204
    )

    with database.sessions() as session:
        fulfilment.start_processing(session, order_id=placed["id"])
        fulfilment.finish(session, settings, order_id=placed["id"])

    reason = client.get(f"/api/v1/orders/{placed['id']}", headers=user.headers).json()
    reason = reason["failure_reason"]
    # One line naming the order line's id, the title quoted and capped.
    assert re.fullmatch(
        r'line \d+: item "Lamp Next steps: .+\.\.\." is no longer available', reason
    )

    with database.sessions() as session:
        payload = session.execute(
            select(OutboxEvent.payload).where(OutboxEvent.event_type == ORDER_FAILED)
        ).scalar_one()
    envelope = json.loads(payload)
    assert envelope["data"]["reason"] == reason
    benign_envelope = {**envelope, "data": {**envelope["data"], "reason": "plain"}}
    message = operator_message(_as_received(envelope), environment="production")
    benign = operator_message(_as_received(benign_envelope), environment="production")
    # The e-mail has exactly the lines of a benign alert: nothing the title carried became a line.
    assert len(message.email.splitlines()) == len(benign.email.splitlines())
    forged = [line for line in message.email.splitlines() if line.startswith(("Next", "Bcc"))]
    assert forged == [benign.email.splitlines()[-2]]  # only the alert's own "Next steps" line
    assert message.subject.splitlines() == [message.subject]
    assert message.sms.splitlines() == [message.sms]


def _as_received(envelope: dict) -> OrderEvent:
    """The event as the notification function parses it from SNS."""
    record = SnsRecord(
        message_id="m-1",
        topic_arn="arn:aws:sns:eu-west-1:123456789012:order-events.fifo",
        subscription_arn=None,
        timestamp=None,
        message=json.dumps(envelope),
        event_type_attribute=ORDER_FAILED,
    )
    return order_event(record)
