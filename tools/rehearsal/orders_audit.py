"""After a worker rehearsal: was every accepted order processed exactly once?

Read straight from the scratch database and the queues, not from what the services say:
  lost      accepted by the API (202) but never final (completed or failed) after the settle
            time, missing from the database, or sitting in the dead-letter queue;
  doubled   an order whose history holds a status twice, or with more than one lifecycle event
            (order.completed / order.failed) in the outbox: an effect applied twice.
A message delivered twice is not a double: the worker is idempotent, and the audit counts such
redeliveries separately from the workers' logs, as information.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from service.core.db import make_engine
from service.messaging.outbox import OutboxEvent
from service.messaging.topology import ORDER_COMPLETED, ORDER_FAILED
from service.orders.models import Order, OrderStatus, OrderStatusChange

FINAL = (OrderStatus.COMPLETED.value, OrderStatus.FAILED.value)


@dataclass
class OrdersAudit:
    accepted: int  # 202 answers the load generator got
    stored: int  # rows in `orders`
    final: int
    not_final: list[int]  # order ids, first few
    doubled: list[int]  # order ids, first few
    dead_lettered: int
    # order accepted -> final, in ms, keyed by the phase the order was placed in
    completion_ms: dict[str, list[float]] = field(default_factory=dict)
    processed_by: Counter[str] = field(default_factory=Counter)  # worker -> orders processed
    redeliveries: int = 0  # messages handled again after another receive (harmless)
    late: int = 0  # orders that took at least a visibility timeout to become final

    @property
    def lost(self) -> int:
        return max(self.accepted - self.final, 0) + self.dead_lettered

    def problems(self) -> list[str]:
        problems = []
        if self.stored != self.accepted:
            problems.append(f"{self.accepted} orders accepted (202) but {self.stored} stored")
        if self.not_final:
            problems.append(
                f"{self.accepted - self.final} accepted order(s) never became final, e.g. "
                f"ids {self.not_final}"
            )
        if self.doubled:
            problems.append(f"order(s) processed twice: ids {self.doubled}")
        if self.dead_lettered:
            problems.append(f"{self.dead_lettered} message(s) in the dead-letter queue")
        return problems


def wait_until_final(database_url: str, *, timeout: float) -> float:
    """Wait until no order is pending or processing; returns the seconds it took."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            with engine.connect() as connection:
                open_orders = connection.execute(
                    select(func.count()).select_from(Order).where(Order.status.not_in(FINAL))
                ).scalar_one()
            if open_orders == 0:
                break
            time.sleep(0.25)
    finally:
        engine.dispose()
    return time.monotonic() - started


def audit_orders(
    database_url: str,
    *,
    accepted: int,
    dead_lettered: int,
    phase_of: Callable[[datetime], str],
    late_after_seconds: float,
    worker_logs: Iterable[tuple[str, Path]] = (),
) -> OrdersAudit:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(Order)).scalar_one()
            not_final = list(
                connection.execute(
                    select(Order.id).where(Order.status.not_in(FINAL)).order_by(Order.id)
                ).scalars()
            )
            repeated_status = set(
                connection.execute(
                    select(OrderStatusChange.order_id)
                    .group_by(OrderStatusChange.order_id, OrderStatusChange.status)
                    .having(func.count() > 1)
                ).scalars()
            )
            lifecycle = Counter(
                json.loads(payload)["data"]["order_id"]
                for payload in connection.execute(
                    select(OutboxEvent.payload).where(
                        OutboxEvent.event_type.in_((ORDER_COMPLETED, ORDER_FAILED))
                    )
                ).scalars()
            )
            finished = connection.execute(
                select(Order.created_at, OrderStatusChange.at)
                .join(OrderStatusChange, OrderStatusChange.order_id == Order.id)
                .where(OrderStatusChange.status.in_(FINAL))
            ).all()
    finally:
        engine.dispose()
    doubled = sorted(repeated_status | {oid for oid, n in lifecycle.items() if n > 1})
    completion: dict[str, list[float]] = {}
    for created_at, final_at in finished:
        completion.setdefault(phase_of(created_at), []).append(
            (final_at - created_at).total_seconds() * 1000
        )
    processed_by, redeliveries = _processed_by(worker_logs)
    return OrdersAudit(
        accepted=accepted,
        stored=stored,
        final=stored - len(not_final),
        not_final=not_final[:10],
        doubled=doubled[:10],
        dead_lettered=dead_lettered,
        completion_ms={phase: sorted(values) for phase, values in completion.items()},
        processed_by=processed_by,
        redeliveries=redeliveries,
        late=sum(
            1 for values in completion.values() for v in values if v >= late_after_seconds * 1000
        ),
    )


def _processed_by(worker_logs: Iterable[tuple[str, Path]]) -> tuple[Counter[str], int]:
    """Count the workers' "order processed" log lines (JSON), and those after a re-receive."""
    counts: Counter[str] = Counter()
    redeliveries = 0
    for name, path in worker_logs:
        for line in path.read_text(errors="replace").splitlines():
            if '"order processed"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            counts[name] += 1
            if int(entry.get("receive_count", 1)) > 1:
                redeliveries += 1
    return counts, redeliveries
