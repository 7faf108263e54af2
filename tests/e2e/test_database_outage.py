"""A database outage under traffic, as real processes: the api (`python -m service api`), the
outbox relay and the worker on a PostgreSQL server the test owns, which it stops (every session
cut, new connections refused: what clients see in an RDS fail-over) and starts again, while
clients read, write and place orders.

What the clients and the pipeline must see: 2xx or an honest 503 (`database_unavailable`, with
`Retry-After`), 503s only inside the outage, no connection dropped, `/readyz` 503 during and 200
after by itself, `/healthz` 200 throughout, every accepted order completed exactly once, nothing
dead-lettered, no traceback in any log, and every process still running.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.core.config import Settings
from service.core.db import make_engine
from service.messaging.aws import sqs_client
from service.migrations.runner import upgrade
from tests.utils.system import ApiClient, LocalSystem, lifecycle_events_per_order
from tools.local.emulator import Emulator
from tools.local.postgres_cluster import PostgresCluster, owned_postgres
from tools.local.traffic import Answer, Traffic

pytestmark = [pytest.mark.slow, pytest.mark.emulator, pytest.mark.postgres]

# Short in `make test`; `DB_OUTAGE_SECONDS=60 pytest tests/e2e/test_database_outage.py -s` runs
# the same proof through a longer outage and prints the same summary line. `make bench` runs it
# so, with DB_OUTAGE_REPORT naming a file: the figures are written there as JSON once every
# assertion has passed (tools/bench/outage_bench.py turns them into a row of RESULTS.md).
OUTAGE_SECONDS = float(os.environ.get("DB_OUTAGE_SECONDS", "5"))
REPORT = os.environ.get("DB_OUTAGE_REPORT")


@dataclass
class OutageSystem:
    system: LocalSystem
    cluster: PostgresCluster


@pytest.fixture
def outage_system(emulator: Emulator, tmp_path: Path) -> Iterator[OutageSystem]:
    with owned_postgres() as cluster:
        engine = make_engine(cluster.url)
        upgrade(engine)
        engine.dispose()
        local = LocalSystem(database_url=cluster.url, emulator_url=emulator.url, workdir=tmp_path)
        local.create_topology()
        try:
            yield OutageSystem(local, cluster)
        finally:
            local.stop_all()
            print(local.logs())


def wait_for(condition: object, timeout: float, what: str) -> float:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def log_records(path: Path) -> list[dict]:
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            records.append({"msg": line, "not_json": True})  # e.g. a bare traceback
    return records


def test_database_outage_is_answered_with_503_and_survived(outage_system: OutageSystem) -> None:
    system, cluster = outage_system.system, outage_system.cluster
    # Short timings so the outage fits a test; the arithmetic that matters in production
    # (receives × visibility against a two-minute outage) is checked in tests/messaging.
    base = system.start_api(RELAY_ENABLED="false")
    relay = system.start_relay(RELAY_MAX_BACKOFF_SECONDS="1")
    worker = system.start_worker(
        WORKER_VISIBILITY_TIMEOUT_SECONDS="5",
        WORKER_WAIT_SECONDS="1",
        # Slower than orders arrive: a backlog, so the worker is mid-order when the database
        # goes and meets the outage for sure.
        WORKER_PROCESSING_SECONDS="0.4",
    )
    customer = ApiClient(base, system.database_url).sign_up(
        f"outage-{uuid.uuid4().hex[:6]}@example.com"
    )
    traffic = Traffic(base, customer.headers, customer.create_item()).start()
    try:
        # The whole pipeline is running (relay and worker take a while to start on a busy
        # machine) before the database goes: an order went all the way through.
        wait_for(
            lambda: (
                bool(traffic.accepted_orders)
                and customer.order(traffic.accepted_orders[0])["status"] == "completed"
            ),
            60,
            "an order completed before the outage",
        )
        wait_for(lambda: len(traffic.accepted_orders) >= 3, 30, "orders before the outage")
        down = time.monotonic()
        cluster.stop()
        wait_for(
            lambda: (
                (last := traffic.last("readyz")) is not None
                and last.sent > down
                and last.status == 503
            ),
            15,
            "/readyz 503 while the database is down",
        )
        time.sleep(OUTAGE_SECONDS)
        cluster.start()
        up = time.monotonic()
        ready_again = wait_for(
            lambda: (
                (last := traffic.last("readyz")) is not None
                and last.sent > up
                and last.status == 200
            ),
            30,
            "/readyz 200 again by itself",
        )
        accepted_before_recovery = len(traffic.accepted_orders)
        wait_for(
            lambda: len(traffic.accepted_orders) >= accepted_before_recovery + 3,
            30,
            "orders after the outage",
        )
    finally:
        traffic.stop()

    answers = traffic.answers
    figures = outage_figures(traffic, down=down, up=up, ready_again=ready_again)
    print(summary(figures))
    dropped = [a for a in answers if a.status is None]
    assert not dropped, f"{len(dropped)} connections dropped: {dropped[:3]}"
    unexpected = [a for a in answers if not (200 <= a.status < 300 or a.status == 503)]  # type: ignore[operator]
    assert not unexpected, f"answers other than 2xx/503: {unexpected[:5]}"
    assert {a.status for a in traffic.of("healthz")} == {200}, "/healthz must not follow the DB"

    refused = [a for a in traffic.of("read", "write", "order") if a.status == 503]
    assert refused, "no request met the outage: the test proved nothing"
    outside = [a for a in refused if a.received < down or a.sent > ready_again]
    assert not outside, f"503s outside the outage window: {outside[:3]}"
    wrong_shape = [a for a in refused if a.code != "database_unavailable" or not a.retry_after]
    assert not wrong_shape, f"503s without the outage code or Retry-After: {wrong_shape[:3]}"
    assert traffic.last("readyz").status == 200  # type: ignore[union-attr]

    # Every order accepted before, during (after retries with its key) and after completes once.
    orders = customer.wait_final(traffic.accepted_orders, timeout=60)
    assert {o["status"] for o in orders} == {"completed"}
    for order in orders:
        assert [h["status"] for h in order["status_history"]] == [
            "pending",
            "processing",
            "completed",
        ]
    counts = lifecycle_events_per_order(system.database_url)
    assert sorted(counts) == sorted(traffic.accepted_orders)
    assert set(counts.values()) == {1}, "an order was completed twice"

    settings = Settings(aws_endpoint_url=system.emulator_url)
    dlq = system.topology_env["ORDER_PROCESSING_DLQ_URL"]
    depth = sqs_client(settings).get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert depth == "0", f"{depth} messages dead-lettered by a database outage"

    for process in system.processes:
        assert process.poll() is None, f"{process.args!r} exited with {process.returncode}"
    assert_logs_are_honest(system.workdir, refused)
    # Both met the outage (else this test proved nothing about them) and resumed by themselves.
    relay_log = messages_in(system.workdir, "relay-*.log")
    assert "database unavailable; outbox relay waits for it" in relay_log
    assert "database reachable again; outbox relay resumes" in relay_log
    worker_log = messages_in(system.workdir, "worker-*.log")
    assert "database unavailable; message handed back" in worker_log
    assert "database reachable again; worker resumes" in worker_log
    assert worker.poll() is None
    assert relay.poll() is None
    if REPORT:
        figures["orders_completed_once"] = len(orders)
        figures["dead_lettered"] = int(depth)
        Path(REPORT).write_text(json.dumps(figures, indent=2))


def outage_figures(
    traffic: Traffic, *, down: float, up: float, ready_again: float
) -> dict[str, float | int]:
    """What the clients saw, in numbers: the summary line and the bench row print these."""
    requests = traffic.of("read", "write", "order")
    first_ok = min(
        (a.received for a in requests if a.sent > up and a.status and a.status < 300), default=up
    )
    return {
        "outage_seconds": round(up - down, 1),
        "requests": len(requests),
        "ok": sum(1 for a in requests if a.status and a.status < 300),
        "unavailable": sum(1 for a in requests if a.status == 503),
        "dropped": sum(1 for a in traffic.answers if a.status is None),
        "other_5xx": sum(1 for a in requests if a.status and a.status >= 500 and a.status != 503),
        "other_4xx": sum(1 for a in requests if a.status and 400 <= a.status < 500),
        "ready_after_seconds": round(ready_again - up, 1),
        "first_ok_after_seconds": round(first_ok - up, 1),
        "orders_accepted": len(traffic.accepted_orders),
    }


def summary(figures: dict[str, float | int]) -> str:
    return (
        "database stopped {outage_seconds} s: {requests} requests, {ok} 2xx, {unavailable} 503, "
        "{dropped} dropped, {other_5xx} other 5xx; /readyz 200 {ready_after_seconds} s after the "
        "start, first 2xx request {first_ok_after_seconds} s after; {orders_accepted} orders "
        "accepted"
    ).format(**figures)


def messages_in(workdir: Path, pattern: str) -> set[str]:
    return {str(r.get("msg")) for path in workdir.glob(pattern) for r in log_records(path)}


def assert_logs_are_honest(workdir: Path, refused: list[Answer]) -> None:
    """No traceback anywhere (an outage is not a bug); each refused request logged once, as a
    warning carrying its request id."""
    warnings: dict[str, int] = {}
    for path in sorted(workdir.glob("*.log")):
        for record in log_records(path):
            assert "exc" not in record, f"{path.name}: {record}"
            assert not record.get("not_json"), f"{path.name}: {record}"
            assert record.get("level") != "ERROR", f"{path.name}: {record}"
            if record.get("msg") == "database unavailable" and record.get("level") == "WARNING":
                rid = str(record.get("request_id"))
                warnings[rid] = warnings.get(rid, 0) + 1
    for answer in refused:
        assert warnings.get(str(answer.request_id)) == 1, f"not logged once: {answer}"
