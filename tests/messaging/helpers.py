"""Reading queues and placing orders directly, for the messaging tests."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from service.core.config import Settings
from service.core.db import Database
from service.items.models import Item
from service.messaging.aws import sqs_client
from service.orders.schemas import OrderCreate, OrderLineCreate
from service.orders.service import place_order
from service.users.models import User


def make_customer(database: Database, email: str) -> User:
    with database.sessions() as session:
        user = User(email=email, hashed_password="x")
        session.add(user)
        session.commit()
        return user


def make_item(database: Database, owner: User, price: str = "5.00") -> Item:
    with database.sessions() as session:
        item = Item(owner_id=owner.id, title="Widget", price=Decimal(price))
        session.add(item)
        session.commit()
        return item


def place(database: Database, customer: User, item: Item, key: str, quantity: int = 1) -> int:
    with database.sessions() as session:
        data = OrderCreate(lines=[OrderLineCreate(item_id=item.id, quantity=quantity)])
        return place_order(session, customer=customer, data=data, idempotency_key=key).order.id


def drain_queue(
    settings: Settings, url: str | None, *, expect: int, timeout: float = 15
) -> list[dict]:
    """Receive and delete until `expect` messages arrived (or time runs out); bodies, in order."""
    assert url, "the queue's URL setting is unset: is the emulator running?"
    sqs = sqs_client(settings)
    bodies: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < expect and time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["MessageGroupId"],
            MessageAttributeNames=["All"],
        )
        for message in answer.get("Messages", []):
            body = json.loads(message["Body"])
            body["_group"] = message.get("Attributes", {}).get("MessageGroupId")
            body["_attributes"] = message.get("MessageAttributes", {})
            bodies.append(body)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def queue_depth(settings: Settings, url: str | None) -> int:
    assert url, "the queue's URL setting is unset: is the emulator running?"
    attributes = sqs_client(settings).get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )
