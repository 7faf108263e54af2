"""The order pipeline as real processes: API -> outbox -> SNS -> SQS -> worker.

Runs on PostgreSQL and the moto server; no in-process AWS mocks. Marked slow: each test starts
processes and waits for orders to flow.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from tests.utils.system import ApiClient, LocalSystem, lifecycle_events_per_order
from tests.utils.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.emulator, pytest.mark.postgres]


def test_orders_complete_and_each_customers_orders_are_processed_in_order(
    system: LocalSystem,
) -> None:
    base = system.start_api()
    system.start_worker()
    customers = [
        ApiClient(base, system.database_url).sign_up(f"c{n}@example.com") for n in range(3)
    ]
    items = [customer.create_item() for customer in customers]  # each orders their own items
    placed: dict[int, list[int]] = {n: [] for n in range(3)}
    for round_ in range(5):
        for n, customer in enumerate(customers):
            placed[n].append(customer.place_order(items[n], key=f"{n}-{round_}")["id"])

    for n, customer in enumerate(customers):
        orders = customer.wait_final(placed[n])
        assert {o["status"] for o in orders} == {"completed"}
        started = [
            next(h["at"] for h in o["status_history"] if h["status"] == "processing")
            for o in orders
        ]
        assert started == sorted(started), f"customer {n}'s orders were processed out of order"
    assert set(lifecycle_events_per_order(system.database_url).values()) == {1}


def test_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    system: LocalSystem,
) -> None:
    base = system.start_api()
    slow = {"WORKER_PROCESSING_SECONDS": "0.3", "WORKER_VISIBILITY_TIMEOUT_SECONDS": "5"}
    first = system.start_worker(**slow)
    customers = [
        ApiClient(base, system.database_url).sign_up(f"k{n}@example.com") for n in range(4)
    ]
    orders = [(c, c.place_order(c.create_item())["id"]) for c in customers for _ in range(4)]

    # Wait until the worker is in the middle of things: some orders done, most not.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = sum(c.order(i)["status"] == "completed" for c, i in orders)
        if done >= 2:
            break
        time.sleep(0.05)
    assert 0 < done < len(orders), f"{done} completed: not mid-batch"
    system.kill(first)  # SIGKILL: no drain, no release, messages in hand

    system.start_worker(**slow)
    for customer in customers:
        finished = customer.wait_final([i for c, i in orders if c is customer], timeout=90)
        for order in finished:
            assert order["status"] == "completed"
            assert [h["status"] for h in order["status_history"]] == [
                "pending",
                "processing",
                "completed",
            ]
    counts = lifecycle_events_per_order(system.database_url)
    assert len(counts) == len(orders)
    assert set(counts.values()) == {1}, "an order was completed twice"


def test_orders_are_accepted_while_sns_is_down_and_delivered_when_it_returns(
    system: LocalSystem,
) -> None:
    emulator_port = int(system.emulator_url.rsplit(":", 1)[1])
    proxy = TcpProxy(emulator_port).start()
    port = proxy.port
    # The API (and its relay) reach AWS through the proxy; the worker reaches it directly.
    base = system.start_api(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", RELAY_MAX_BACKOFF_SECONDS="1"
    )
    system.start_worker()
    customer = ApiClient(base, system.database_url).sign_up("outage@example.com")
    item = customer.create_item()
    proxy.stop()  # SNS unreachable

    ids = [customer.place_order(item)["id"] for _ in range(5)]
    time.sleep(2)  # the relay tries, fails and backs off
    assert {customer.order(i)["status"] for i in ids} == {"pending"}
    engine = create_engine(system.database_url)
    with engine.connect() as connection:
        unsent, attempts = connection.execute(
            text("SELECT count(*), max(attempts) FROM outbox_events WHERE sent_at IS NULL")
        ).one()
    engine.dispose()
    assert unsent == 5
    assert attempts >= 1

    TcpProxy(emulator_port, listen_port=port).start()  # SNS is back
    orders = customer.wait_final(ids, timeout=60)
    assert [o["status"] for o in orders] == ["completed"] * 5
    started = [o["status_history"][1]["at"] for o in orders]
    assert started == sorted(started)
