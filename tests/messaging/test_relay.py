"""The outbox relay against a real SNS/SQS emulator: order, exactly-once marking, failures."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from service.core.config import Settings
from service.core.db import Database
from service.messaging import outbox
from service.messaging.bootstrap import create_topology
from service.messaging.outbox import OutboxEvent
from service.messaging.relay import OutboxRelay, topic_arns_from
from service.messaging.topology import ORDER_NOTIFICATIONS_QUEUE, ORDER_PROCESSING_QUEUE, TOPOLOGY
from tests.messaging.helpers import drain_queue, make_customer, make_item, place
from tests.utils.databases import migrated_postgres_database
from tools.local.emulator import Emulator


def all_events(database: Database) -> list[OutboxEvent]:
    with database.sessions() as session:
        return list(session.execute(select(OutboxEvent).order_by(OutboxEvent.id)).scalars())


def relay_until_idle(relay: OutboxRelay, rounds: int = 100) -> int:
    total = 0
    for _ in range(rounds):
        published = relay.publish_pending()
        if not published:
            break
        total += published
    return total


def test_relay_publishes_each_customers_events_in_order(
    aws_settings: Settings, database: Database
) -> None:
    alice = make_customer(database, "alice@example.com")
    bob = make_customer(database, "bob@example.com")
    items = {alice.id: make_item(database, alice), bob.id: make_item(database, bob)}
    placed: dict[str, list[int]] = {f"customer-{alice.id}": [], f"customer-{bob.id}": []}
    for n in range(6):  # interleaved: alice, bob, alice, bob, ...
        customer = alice if n % 2 == 0 else bob
        item = items[customer.id]  # customers order their own items (service/items/service.py)
        placed[f"customer-{customer.id}"].append(place(database, customer, item, key=f"k{n}"))

    relay = OutboxRelay(database, aws_settings)
    assert relay_until_idle(relay) == 6

    bodies = drain_queue(aws_settings, aws_settings.queue_urls[ORDER_PROCESSING_QUEUE], expect=6)
    received: dict[str, list[int]] = {group: [] for group in placed}
    for body in bodies:
        assert body["event_type"] == "order.placed"
        received[body["_group"]].append(body["data"]["order_id"])
    assert received == placed
    assert all(event.sent_at is not None for event in all_events(database))


def test_relay_publishes_nothing_twice(aws_settings: Settings, database: Database) -> None:
    customer = make_customer(database, "c@example.com")
    place(database, customer, make_item(database, customer), key="once")
    relay = OutboxRelay(database, aws_settings)
    assert relay.publish_pending() == 1
    assert relay.publish_pending() == 0
    assert (
        len(
            drain_queue(
                aws_settings, aws_settings.queue_urls[ORDER_PROCESSING_QUEUE], expect=2, timeout=3
            )
        )
        == 1
    )


def test_relay_keeps_events_while_sns_is_down_and_delivers_them_after(
    aws_settings: Settings, database: Database
) -> None:
    customer = make_customer(database, "d@example.com")
    item = make_item(database, customer)
    ids = [place(database, customer, item, key=f"k{n}") for n in range(3)]

    down = aws_settings.model_copy(update={"aws_endpoint_url": "http://127.0.0.1:9"})
    broken = OutboxRelay(database, down, topic_arns=topic_arns_from(aws_settings))
    assert broken.publish_pending() == 0
    events = all_events(database)
    assert all(e.sent_at is None for e in events)
    head = events[0]
    assert head.attempts == 1
    assert head.last_error
    assert head.next_attempt_at > head.created_at  # backing off
    # Only the head of the customer's group was tried: the rest wait behind it, in order.
    assert [e.attempts for e in events] == [1, 0, 0]

    time.sleep(0.25)  # past the (test-sized) backoff
    assert relay_until_idle(OutboxRelay(database, aws_settings)) == 3
    bodies = drain_queue(aws_settings, aws_settings.queue_urls[ORDER_PROCESSING_QUEUE], expect=3)
    assert [b["data"]["order_id"] for b in bodies] == ids


def test_lifecycle_events_reach_notifications_through_the_filter_policy(
    aws_settings: Settings, database: Database
) -> None:
    with database.sessions() as session:
        outbox.enqueue(session, topic="order-events", event_type="order.completed", data={"n": 1})
        outbox.enqueue(session, topic="order-events", event_type="order.audited", data={"n": 2})
        outbox.enqueue(session, topic="order-events", event_type="order.failed", data={"n": 3})
        session.commit()
    assert relay_until_idle(OutboxRelay(database, aws_settings)) == 3
    bodies = drain_queue(
        aws_settings, aws_settings.queue_urls[ORDER_NOTIFICATIONS_QUEUE], expect=3, timeout=4
    )
    # The filter policy admits completed and failed only.
    assert sorted(b["data"]["n"] for b in bodies) == [1, 3]
    assert {b["_attributes"]["event_type"]["StringValue"] for b in bodies} == {
        "order.completed",
        "order.failed",
    }


@pytest.fixture
def postgres_messaging(emulator: Emulator) -> Iterator[tuple[Settings, Database]]:
    """Several relays at once is a PostgreSQL deployment (SKIP LOCKED): this test runs there
    only, on a database of its own, rather than on both backends like the rest."""
    with migrated_postgres_database("shipyard_relays") as url:
        base = Settings(database_url=url, aws_endpoint_url=emulator.url, relay_enabled=False)
        env = create_topology(base, prefix=f"r{uuid.uuid4().hex[:10]}")
        database = Database(url)
        yield base.model_copy(update=TOPOLOGY.endpoints_from(env)), database
        database.dispose()


@pytest.mark.postgres
def test_concurrent_relays_keep_each_customers_order_on_postgres(
    postgres_messaging: tuple[Settings, Database],
) -> None:
    aws_settings, database = postgres_messaging
    customers = [make_customer(database, f"r{n}@example.com") for n in range(3)]
    items = {c.id: make_item(database, c) for c in customers}  # each orders their own
    expected: dict[str, list[int]] = {f"customer-{c.id}": [] for c in customers}
    for n in range(30):
        customer = customers[n % 3]
        item = items[customer.id]
        expected[f"customer-{customer.id}"].append(place(database, customer, item, key=f"k{n}"))

    small = aws_settings.model_copy(update={"relay_batch_size": 4})
    relays = [OutboxRelay(database, small) for _ in range(3)]
    threads = [threading.Thread(target=relay_until_idle, args=(r, 200)) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    relay_until_idle(relays[0])  # whatever a thread left when it saw an idle moment

    bodies = drain_queue(aws_settings, aws_settings.queue_urls[ORDER_PROCESSING_QUEUE], expect=30)
    received: dict[str, list[int]] = {group: [] for group in expected}
    for body in bodies:
        received[body["_group"]].append(body["data"]["order_id"])
    assert received == expected
