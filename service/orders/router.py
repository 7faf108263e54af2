from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from sqlalchemy.orm import Session

from service.auth.dependencies import CurrentUser
from service.core.deps import SessionDep
from service.core.openapi import Responses, error
from service.core.params import Page, PageDep, ResourceId
from service.orders import service
from service.orders.schemas import OrderCreate, OrderPublic, OrdersPublic
from service.users.models import User

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
async def place_order(
    session: SessionDep,
    user: CurrentUser,
    body: OrderCreate,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> OrderPublic:
    """Accept an order for processing. It starts `pending`; poll it to see it complete."""
    answer, replayed = await session.run_sync(_place_order, user, body, idempotency_key)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return answer


def _place_order(
    session: Session, user: User, body: OrderCreate, idempotency_key: str
) -> tuple[OrderPublic, bool]:
    placed = service.place_order(session, customer=user, data=body, idempotency_key=idempotency_key)
    return OrderPublic.model_validate(placed.order), placed.replayed


@router.get("")
async def read_orders(session: SessionDep, user: CurrentUser, page: PageDep) -> OrdersPublic:
    """Your orders, newest first."""
    return await session.run_sync(_read_orders, user, page)


def _read_orders(session: Session, user: User, page: Page) -> OrdersPublic:
    orders = service.list_own(session, customer=user, page=page)
    return OrdersPublic(
        data=[OrderPublic.model_validate(o) for o in orders.rows], count=orders.total
    )


@router.get("/{order_id}", responses={404: error("no such order (or not yours)")})
async def read_order(session: SessionDep, user: CurrentUser, order_id: ResourceId) -> OrderPublic:
    return await session.run_sync(_read_order, user, order_id)


def _read_order(session: Session, user: User, order_id: int) -> OrderPublic:
    return OrderPublic.model_validate(service.get_own(session, customer=user, order_id=order_id))
