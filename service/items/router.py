from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.auth.dependencies import CurrentUser
from service.core.deps import SessionDep
from service.core.openapi import Responses, error
from service.core.params import Page, PageDep, ResourceId
from service.items import service
from service.items.schemas import ItemCreate, ItemPublic, ItemsPublic, ItemUpdate
from service.users.models import User

router = APIRouter(prefix="/items", tags=["items"])
_404: Responses = {404: error("no such item (or not yours)")}


# The busiest routes are `async def` and send only their database work to the thread pool: for
# a plain `def` route FastAPI makes two hops (the route, then the answer's validation), and each
# hop costs about as much as the work (issue 14). The answer is built in the pool too, where
# the session lives.


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_item(session: SessionDep, user: CurrentUser, body: ItemCreate) -> ItemPublic:
    return await run_in_threadpool(_create_item, session, user, body)


def _create_item(session: Session, user: User, body: ItemCreate) -> ItemPublic:
    return ItemPublic.model_validate(service.create_item(session, owner=user, data=body))


@router.get("")
async def read_items(session: SessionDep, user: CurrentUser, page: PageDep) -> ItemsPublic:
    """Your items (all items for a superuser), oldest first."""
    return await run_in_threadpool(_read_items, session, user, page)


def _read_items(session: Session, user: User, page: Page) -> ItemsPublic:
    items = service.list_visible(session, user=user, page=page)
    return ItemsPublic(data=[ItemPublic.model_validate(i) for i in items.rows], count=items.total)


@router.get("/{item_id}", responses=_404)
def read_item(session: SessionDep, user: CurrentUser, item_id: ResourceId) -> ItemPublic:
    return ItemPublic.model_validate(service.get_visible(session, user=user, item_id=item_id))


@router.patch("/{item_id}", responses=_404)
def update_item(
    session: SessionDep, user: CurrentUser, item_id: ResourceId, body: ItemUpdate
) -> ItemPublic:
    item = service.get_visible(session, user=user, item_id=item_id)
    return ItemPublic.model_validate(service.update_item(session, item=item, data=body))


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_404)
def delete_item(session: SessionDep, user: CurrentUser, item_id: ResourceId) -> None:
    service.delete_item(session, item=service.get_visible(session, user=user, item_id=item_id))
