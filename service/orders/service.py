"""Placing and reading orders (API side).

An order and its `order.placed` outbox event are written in one transaction, so an accepted
order is always announced and an announced order always exists.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from service.core.errors import ApiError, not_found
from service.core.pagination import PageOf, read_page
from service.core.params import Page
from service.items import service as item_service
from service.items.models import Item
from service.messaging import outbox
from service.messaging.topology import ORDER_PLACED, ORDERS_TOPIC
from service.orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from service.orders.schemas import OrderCreate
from service.users.models import User

# What orders.total (NUMERIC(14, 2)) can hold; PostgreSQL would refuse more with an error.
MAX_ORDER_TOTAL = Decimal("999999999999.99")


@dataclass(frozen=True)
class Placed:
    order: Order
    replayed: bool  # True: the Idempotency-Key was seen before; nothing new was created


def customer_ordering_key(customer_id: int) -> str:
    """The SNS message group: one customer's events are delivered and processed in order."""
    return f"customer-{customer_id}"


def place_order(
    session: Session, *, customer: User, data: OrderCreate, idempotency_key: str
) -> Placed:
    request_hash = _request_hash(data)
    existing = _by_key(session, customer_id=customer.id, key=idempotency_key)
    if existing is not None:
        return _replay(existing, request_hash)

    items = _items_for(session, customer, data)
    order = Order(
        customer_id=customer.id,
        status=OrderStatus.PENDING,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        total=Decimal("0.00"),
    )
    for line in data.lines:
        item = items[line.item_id]
        order.lines.append(
            OrderLine(
                item_id=item.id, title=item.title, unit_price=item.price, quantity=line.quantity
            )
        )
    order.total = sum((line.line_total for line in order.lines), Decimal("0.00"))
    if order.total > MAX_ORDER_TOTAL:
        raise ApiError(422, "total_too_large", f"the order total may not exceed {MAX_ORDER_TOTAL}")
    order.history.append(OrderStatusChange(status=OrderStatus.PENDING))
    session.add(order)
    try:
        session.flush()  # the order id, for the event
        outbox.enqueue(
            session,
            topic=ORDERS_TOPIC,
            event_type=ORDER_PLACED,
            data={"order_id": order.id, "customer_id": customer.id},
            ordering_key=customer_ordering_key(customer.id),
        )
        session.commit()
    except IntegrityError:
        # Another request with the same key won the race; answer what it created.
        session.rollback()
        existing = _by_key(session, customer_id=customer.id, key=idempotency_key)
        if existing is None:
            raise
        return _replay(existing, request_hash)
    # Answer from the objects in hand: every column has a Python-side default, the lines and the
    # history were built here, and expire_on_commit=False keeps them loaded. Re-reading what was
    # just written cost a second checkout and three SELECTs (issue 14).
    return Placed(order=order, replayed=False)


def get_own(session: Session, *, customer: User, order_id: int) -> Order:
    order = session.execute(
        _with_children().where(Order.id == order_id, Order.customer_id == customer.id)
    ).scalar_one_or_none()
    if order is None:
        raise not_found("order")
    return order


def list_own(session: Session, *, customer: User, page: Page) -> PageOf[Order]:
    own = _with_children().where(Order.customer_id == customer.id)
    return read_page(session, own, order_by=Order.id.desc(), page=page)


def _items_for(session: Session, customer: User, data: OrderCreate) -> dict[int, Item]:
    ids = [line.item_id for line in data.lines]
    if len(set(ids)) != len(ids):
        raise ApiError(422, "duplicate_item", "each item may appear in one line only")
    # The items rule (service/items/service.py): only items the customer may see can be ordered,
    # and "not yours" reads exactly like "does not exist", naming only the caller's own line.
    items = item_service.visible_by_id(session, user=customer, item_ids=ids)
    missing = [
        f"lines.{n}.item_id: no such item (or not yours)"
        for n, item_id in enumerate(ids)
        if item_id not in items
    ]
    if missing:
        raise ApiError(422, "unknown_item", "; ".join(missing))
    return items


def _request_hash(data: OrderCreate) -> str:
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(order: Order, request_hash: str) -> Placed:
    if order.request_hash != request_hash:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different order; use a new key for a new order",
        )
    return Placed(order=order, replayed=True)


def _by_key(session: Session, *, customer_id: int, key: str) -> Order | None:
    return session.execute(
        _with_children().where(Order.customer_id == customer_id, Order.idempotency_key == key)
    ).scalar_one_or_none()


def _with_children() -> Select[Order]:
    return select(Order).options(selectinload(Order.lines), selectinload(Order.history))
