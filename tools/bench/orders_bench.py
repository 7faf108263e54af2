"""Order pipeline throughput next to the emulator's own speed, measured in the same run.

Pipeline: orders are placed through the API as fast as it accepts them; the outbox relay (in
the API process) publishes them to the SNS FIFO topic, the emulator fans them out to the SQS
FIFO queue, one worker processes them. The figure is the steady completion rate (orders becoming
final per second, between the 10th and the 90th percentile of completions, so that start-up and
the tail do not count).

Baseline: one consumer doing nothing but ReceiveMessage (batches of 10, like the worker) and
DeleteMessageBatch on a queue of the same declaration, pre-filled with as many messages over as
many message groups. The ratio says how much of the emulator's raw speed the pipeline keeps;
the absolute numbers are the emulator's (moto), not AWS's.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from service.core.db import make_engine
from service.messaging.aws import sns_client
from service.messaging.bootstrap import create_topology
from service.messaging.outbox import OutboxEvent
from service.messaging.topology import (
    ORDER_PLACED,
    ORDER_PROCESSING_QUEUE,
    ORDERS_TOPIC,
    TOPOLOGY,
)
from service.orders.models import Order, OrderStatusChange
from tools.bench.api_bench import BenchServer, BenchUser, create_users
from tools.local.processes import start_python, terminate
from tools.rehearsal.database import scratch_database
from tools.rehearsal.messaging import LocalMessaging, local_messaging
from tools.rehearsal.orders_audit import FINAL, wait_until_final
from tools.rehearsal.results import percentile

WORKER_BATCH = 10  # the worker's default WORKER_BATCH_SIZE, and SQS's maximum
RAW_QUEUE_DEPTH = 50


@dataclass(frozen=True)
class OrdersResult:
    orders: int
    customers: int
    accept_rate: float  # orders/s the API accepted while placing
    pipeline_rate: float  # orders/s becoming final, steady state
    relay_rate: float  # order.placed events/s the relay marked published, steady state
    completion_p50_ms: float
    completion_p99_ms: float
    raw_rate: float  # messages/s, one consumer, receive + delete
    raw_publish_rate: float  # events/s, one publisher, SNS FIFO PublishBatch (10 per call)

    @property
    def ratio(self) -> float:
        return self.pipeline_rate / self.raw_rate if self.raw_rate else 0.0


def place_orders(base_url: str, users: list[BenchUser], count: int, concurrency: int) -> float:
    """Place `count` orders from `concurrency` threads; returns orders accepted per second."""
    next_index = iter(range(count))
    lock = threading.Lock()
    failures: list[str] = []

    def place() -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                user = users[index % len(users)]
                response = client.post(
                    "/api/v1/orders",
                    headers={**user.auth, "Idempotency-Key": f"bench-{uuid.uuid4()}"},
                    json={"lines": [{"item_id": user.item_ids[0], "quantity": 1}]},
                )
                if response.status_code != 202:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    started = time.monotonic()
    threads = [threading.Thread(target=place) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} order(s) refused, e.g. {failures[0]}")
    return count / (time.monotonic() - started)


def steady_rate(timestamps: list[float]) -> float:
    """Events per second between the 10th and the 90th percentile of their times."""
    ordered = sorted(timestamps)
    low, high = int(len(ordered) * 0.1), int(len(ordered) * 0.9) - 1
    span = ordered[high] - ordered[low] if high > low else 0.0
    return (high - low) / span if span > 0 else 0.0


def pipeline_timings(database_url: str) -> tuple[float, float, list[float]]:
    """(orders/s becoming final, order.placed events/s published, accept->final ms sorted)."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Order.created_at, OrderStatusChange.at)
                .join(OrderStatusChange, OrderStatusChange.order_id == Order.id)
                .where(OrderStatusChange.status.in_(FINAL))
            ).all()
            published = connection.execute(
                select(OutboxEvent.sent_at).where(
                    OutboxEvent.event_type == ORDER_PLACED, OutboxEvent.sent_at.is_not(None)
                )
            ).scalars()
            relay_rate = steady_rate([at.timestamp() for at in published if at is not None])
    finally:
        engine.dispose()
    latencies = sorted((at - created).total_seconds() * 1000 for created, at in rows)
    return steady_rate([at.timestamp() for _, at in rows]), relay_rate, latencies


def raw_receive_delete_rate(
    messaging: LocalMessaging, *, messages: int, groups: int, depth: int = RAW_QUEUE_DEPTH
) -> float:
    """One consumer, receive (10) + delete batch, on a fresh queue of the same declaration.

    The queue is filled `depth` messages at a time and drained before the next fill: the
    emulator's FIFO receive slows down as a queue gets deeper (about 300 messages/s at 50 deep,
    50/s at 400 deep here), and a worker that keeps up sees a shallow queue. Only the draining
    is timed.
    """
    env = create_topology(messaging.settings, prefix=f"raw{uuid.uuid4().hex[:8]}")
    queue_url = env[TOPOLOGY.queue(ORDER_PROCESSING_QUEUE).env_var or ""]
    sqs = messaging.sqs()
    received, draining = 0, 0.0
    while received < messages:
        chunk = min(depth, messages - received)
        for start in range(0, chunk, 10):
            entries = []
            for n in range(received + start, received + min(start + 10, chunk)):
                event = {"event_id": str(uuid.uuid4()), "event_type": ORDER_PLACED}
                body = json.dumps({**event, "data": {"order_id": n}})
                entries.append(
                    {
                        "Id": str(n),
                        "MessageBody": body,
                        "MessageGroupId": f"customer-{n % groups}",
                        "MessageDeduplicationId": event["event_id"],
                    }
                )
            sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
        started = time.monotonic()
        left = chunk
        while left > 0:
            answer = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=WORKER_BATCH, WaitTimeSeconds=1
            )
            batch = answer.get("Messages", [])
            if not batch:
                if time.monotonic() - started > 120:
                    raise RuntimeError(f"{left} messages not received within 120 s")
                continue
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )
            left -= len(batch)
        draining += time.monotonic() - started
        received += chunk
    return received / draining


def raw_publish_rate(messaging: LocalMessaging, *, messages: int, groups: int) -> float:
    """One publisher doing only what the relay does against SNS: PublishBatch, 10 events per
    call from 10 groups, to a fresh FIFO topic of the same declaration (SNS fans each event out
    to its FIFO queue, as in the pipeline). The other half of the pipeline's ceiling."""
    env = create_topology(messaging.settings, prefix=f"pub{uuid.uuid4().hex[:8]}")
    topic_arn = env[TOPOLOGY.topic(ORDERS_TOPIC).env_var]
    sns = sns_client(messaging.settings)
    started = time.monotonic()
    for start in range(0, messages, 10):
        entries = []
        for n in range(start, min(start + 10, messages)):
            event_id = str(uuid.uuid4())
            body = {"event_id": event_id, "event_type": ORDER_PLACED, "data": {"order_id": n}}
            entries.append(
                {
                    "Id": str(n),
                    "Message": json.dumps(body),
                    "MessageGroupId": f"customer-{n % groups}",
                    "MessageDeduplicationId": event_id,
                    "MessageAttributes": {
                        "event_type": {"DataType": "String", "StringValue": ORDER_PLACED}
                    },
                }
            )
        sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)  # type: ignore[arg-type]
    return messages / (time.monotonic() - started)


def bench_orders(
    *,
    workdir: Path,
    orders: int,
    customers: int = 10,
    concurrency: int = 4,
    log: Callable[[str], None] = print,
) -> OrdersResult:
    workdir.mkdir(parents=True, exist_ok=True)
    with (
        scratch_database(prefix="shipyard_bench") as database_url,
        local_messaging(database_url=database_url, workdir=workdir) as messaging,
    ):
        api = BenchServer(
            database_url=database_url,
            workdir=workdir,
            extra_env={**messaging.env, "RELAY_ENABLED": "true"},
        )
        worker = start_python(
            ["-m", "service", "worker"],
            env={
                **messaging.env,
                "ENVIRONMENT": "staging",
                "DATABASE_URL": database_url,
                "JWT_SECRET": secrets.token_urlsafe(48),
                "RELAY_ENABLED": "false",
                "LOG_LEVEL": "WARNING",
            },
            log_path=workdir / "bench-worker.log",
        )
        try:
            api.wait_ready()
            users = create_users(api.url, database_url, customers, items=1)
            accept_rate = place_orders(api.url, users, orders, concurrency)
            log(f"orders: {orders} accepted at {accept_rate:.0f}/s; waiting for the pipeline")
            settle = wait_until_final(database_url, timeout=600)
            pipeline_rate, relay_rate, latencies = pipeline_timings(database_url)
            log(f"orders: final {settle:.1f} s after the last was accepted; {pipeline_rate:.1f}/s")
            raw_rate = raw_receive_delete_rate(messaging, messages=orders, groups=customers)
            log(f"orders: raw receive+delete {raw_rate:.0f} messages/s")
            publish_rate = raw_publish_rate(messaging, messages=orders, groups=customers)
            log(f"orders: raw SNS publish {publish_rate:.0f} events/s")
        finally:
            terminate(worker, stop_timeout=30)
            api.stop()
    return OrdersResult(
        orders=orders,
        customers=customers,
        accept_rate=accept_rate,
        pipeline_rate=pipeline_rate,
        relay_rate=relay_rate,
        completion_p50_ms=percentile(latencies, 50),
        completion_p99_ms=percentile(latencies, 99),
        raw_rate=raw_rate,
        raw_publish_rate=publish_rate,
    )
