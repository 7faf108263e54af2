"""The order worker against a real SQS emulator and a real database."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.core.config import Settings
from service.core.db import Database
from service.messaging.aws import sqs_client
from service.messaging.outbox import OutboxEvent
from service.messaging.relay import OutboxRelay
from service.messaging.topology import ORDER_PROCESSING_QUEUE
from service.messaging.worker import OrderWorker
from service.orders.models import Order
from tests.messaging.helpers import make_customer, make_item, place, queue_depth


def order(database: Database, order_id: int) -> Order:
    with database.sessions() as session:
        return session.execute(
            select(Order).where(Order.id == order_id).options(selectinload(Order.history))
        ).scalar_one()


def lifecycle_events(database: Database) -> list[OutboxEvent]:
    with database.sessions() as session:
        return list(
            session.execute(
                select(OutboxEvent).where(OutboxEvent.topic == "order-events")
            ).scalars()
        )


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def running_worker(aws_settings: Settings, database: Database) -> Iterator[OrderWorker]:
    worker = OrderWorker(database, aws_settings)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    yield worker
    worker.stop.set()
    thread.join(10)
    assert not thread.is_alive()


def test_worker_completes_orders_and_announces_them(
    aws_settings: Settings, database: Database, running_worker: OrderWorker
) -> None:
    customer = make_customer(database, "w1@example.com")
    item = make_item(database, customer)
    ids = [place(database, customer, item, key=f"k{n}") for n in range(3)]
    OutboxRelay(database, aws_settings).publish_pending()

    wait_for(lambda: all(order(database, i).status == "completed" for i in ids))
    for order_id in ids:
        history = [h.status for h in order(database, order_id).history]
        assert history == ["pending", "processing", "completed"]
    events = lifecycle_events(database)
    assert sorted(json.loads(e.payload)["data"]["order_id"] for e in events) == ids
    assert {e.event_type for e in events} == {"order.completed"}
    wait_for(
        lambda: queue_depth(aws_settings, aws_settings.queue_urls[ORDER_PROCESSING_QUEUE]) == 0
    )


def test_order_over_the_fulfilment_limit_fails_with_a_reason(
    aws_settings: Settings, database: Database, running_worker: OrderWorker
) -> None:
    customer = make_customer(database, "w2@example.com")
    item = make_item(database, customer, price="6000.00")
    order_id = place(database, customer, item, key="big", quantity=2)
    OutboxRelay(database, aws_settings).publish_pending()

    wait_for(lambda: order(database, order_id).status == "failed")
    failed = order(database, order_id)
    assert failed.failure_reason == "order total 12000.00 exceeds the limit of 10000.00"
    assert [h.reason for h in failed.history][-1] == failed.failure_reason
    assert [e.event_type for e in lifecycle_events(database)] == ["order.failed"]


def test_redelivered_message_changes_nothing_twice(
    aws_settings: Settings, database: Database
) -> None:
    customer = make_customer(database, "w3@example.com")
    order_id = place(database, customer, make_item(database, customer), key="dup")
    OutboxRelay(database, aws_settings).publish_pending()
    worker = OrderWorker(database, aws_settings)
    sqs = sqs_client(aws_settings)
    message = sqs.receive_message(
        QueueUrl=worker.queue_url, WaitTimeSeconds=5, VisibilityTimeout=0
    )["Messages"][0]
    worker.handle_batch([message])
    worker.handle_batch([message])  # the same message again, as SQS may deliver it
    assert [h.status for h in order(database, order_id).history] == [
        "pending",
        "processing",
        "completed",
    ]
    assert len(lifecycle_events(database)) == 1


def test_poison_message_ends_in_the_dlq_and_the_worker_keeps_going(
    aws_settings: Settings, database: Database, running_worker: OrderWorker
) -> None:
    sqs = sqs_client(aws_settings)
    queue_url = aws_settings.queue_urls[ORDER_PROCESSING_QUEUE]
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody="{this is not json",
        MessageGroupId="poison",
        MessageDeduplicationId="poison-1",
    )
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(
            {"event_id": "e", "event_type": "order.placed", "data": {"order_id": 424242}}
        ),
        MessageGroupId="unknown-order",
        MessageDeduplicationId="poison-2",
    )
    customer = make_customer(database, "w4@example.com")
    order_id = place(database, customer, make_item(database, customer), key="fine")
    OutboxRelay(database, aws_settings).publish_pending()

    wait_for(lambda: order(database, order_id).status == "completed")
    # maxReceiveCount (5) receives later, SQS has moved both poison messages aside.
    wait_for(
        lambda: queue_depth(aws_settings, aws_settings.dlq_urls[ORDER_PROCESSING_QUEUE]) == 2, 40
    )
    assert queue_depth(aws_settings, aws_settings.queue_urls[ORDER_PROCESSING_QUEUE]) == 0


def test_stopping_worker_releases_the_messages_it_has_not_started(
    aws_settings: Settings, database: Database
) -> None:
    customer = make_customer(database, "w5@example.com")
    item = make_item(database, customer)
    ids = [place(database, customer, item, key=f"k{n}") for n in range(3)]
    OutboxRelay(database, aws_settings).publish_pending()
    worker = OrderWorker(database, aws_settings)
    messages = sqs_client(aws_settings).receive_message(
        QueueUrl=worker.queue_url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=5,
        MessageSystemAttributeNames=["MessageGroupId"],
    )["Messages"]
    assert len(messages) == 3
    worker.stop.set()  # SIGTERM arrived just as the batch came in
    worker.handle_batch(messages)
    assert all(order(database, i).status == "pending" for i in ids)
    # Released, not lost: another worker gets them at once, not after the visibility timeout.
    again = sqs_client(aws_settings).receive_message(
        QueueUrl=worker.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2
    )
    assert len(again.get("Messages", [])) == 3
