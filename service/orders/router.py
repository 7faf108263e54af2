from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from service.auth.dependencies import CurrentUser
from service.core.deps import SessionDep
from service.core.openapi import Responses, error
from service.core.params import PageDep, ResourceId
from service.orders import service
from service.orders.schemas import OrderCreate, OrderPublic, OrdersPublic

router = APIRouter(prefix="/orders", tags=["orders"])

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="a unique key per order (e.g. a UUID); a retry with the same key and body "
        "answers the same order instead of placing a second one",
    ),
]
_PLACE: Responses = {
    409: error("Idempotency-Key already used for a different order"),
    422: error("invalid lines, unknown item, or missing Idempotency-Key"),
}


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses=_PLACE)
def place_order(
    session: SessionDep,
    user: CurrentUser,
    body: OrderCreate,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> OrderPublic:
    """Accept an order for processing. It starts `pending`; poll it to see it complete."""
    placed = service.place_order(session, customer=user, data=body, idempotency_key=idempotency_key)
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return OrderPublic.model_validate(placed.order)


@router.get("")
def read_orders(session: SessionDep, user: CurrentUser, page: PageDep) -> OrdersPublic:
    """Your orders, newest first."""
    orders, count = service.list_own(session, customer=user, offset=page.offset, limit=page.limit)
    return OrdersPublic(data=[OrderPublic.model_validate(o) for o in orders], count=count)


@router.get("/{order_id}", responses={404: error("no such order (or not yours)")})
def read_order(session: SessionDep, user: CurrentUser, order_id: ResourceId) -> OrderPublic:
    return OrderPublic.model_validate(service.get_own(session, customer=user, order_id=order_id))
