"""What the worker does with an `order.placed` event, idempotently.

Each step changes the order only from the status it expects (pending -> processing -> final),
under a row lock, and writes its lifecycle event to the outbox in the same transaction; so a
redelivered message, or a second worker racing the first, changes nothing twice.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.core.config import Settings
from service.messaging import outbox
from service.messaging.topology import ORDER_COMPLETED, ORDER_EVENTS_TOPIC, ORDER_FAILED
from service.notifications.quoting import quoted
from service.orders.models import Order, OrderStatus, OrderStatusChange

# A failure reason is shown to the customer and sent to operators by e-mail and SMS: the item's
# title is the customer's text, so it goes in on one line, quoted and short, beside the line's id.
REASON_TITLE_MAX_CHARS = 60


class UnknownOrderError(Exception):
    """The event names an order that does not exist (a poison message)."""


def start_processing(session: Session, *, order_id: int) -> OrderStatus:
    order = _locked(session, order_id)
    if order.status == OrderStatus.PENDING:
        _move(order, OrderStatus.PROCESSING)
    status = OrderStatus(order.status)
    session.commit()
    return status


def finish(session: Session, settings: Settings, *, order_id: int) -> OrderStatus:
    order = _locked(session, order_id)
    if OrderStatus(order.status).is_final:
        session.commit()
        return OrderStatus(order.status)
    reason = why_unfulfillable(order, settings)
    status = OrderStatus.FAILED if reason else OrderStatus.COMPLETED
    _move(order, status, reason)
    order.failure_reason = reason
    outbox.enqueue(
        session,
        topic=ORDER_EVENTS_TOPIC,
        event_type=ORDER_FAILED if reason else ORDER_COMPLETED,
        data={
            "order_id": order.id,
            "customer_id": order.customer_id,
            "status": status.value,
            "total": str(order.total),
            "reason": reason,
        },
    )
    session.commit()
    return status


def why_unfulfillable(order: Order, settings: Settings) -> str | None:
    for line in order.lines:
        if line.item_id is None:  # the item was deleted after the order was placed
            title = quoted(line.title, REASON_TITLE_MAX_CHARS)
            return f"line {line.id}: item {title} is no longer available"
    if order.total > settings.order_fulfilment_limit:
        return f"order total {order.total} exceeds the limit of {settings.order_fulfilment_limit}"
    return None


def _locked(session: Session, order_id: int) -> Order:
    order = session.execute(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines), selectinload(Order.history))
        .with_for_update(of=Order)
    ).scalar_one_or_none()
    if order is None:
        session.rollback()
        raise UnknownOrderError(f"order {order_id} does not exist")
    return order


def _move(order: Order, status: OrderStatus, reason: str | None = None) -> None:
    order.status = status
    order.history.append(OrderStatusChange(status=status, reason=reason))
