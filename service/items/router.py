from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy.orm import Session

from service.auth.dependencies import CurrentUser, authenticate
from service.auth.read_access import ReadAccessDep
from service.auth.tokens import TokenClaims
from service.core.db_reads import read_rows, run_read
from service.core.deps import SessionDep
from service.core.json_answer import json_answer
from service.core.openapi import AUTHENTICATED, Responses, error
from service.core.params import Page, PageDep, ResourceId
from service.items import service
from service.items.schemas import ItemCreate, ItemPublic, ItemsPublic, ItemUpdate
from service.users.models import User

router = APIRouter(prefix="/items", tags=["items"])
_404: Responses = {404: error("no such item (or not yours)")}


# Every route is `async def` and runs on the event loop through the async engine: the list on
# Core (service/core/db_reads.py), the others their data functions with `session.run_sync`
# (service/core/deps.py).


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ItemPublic)
async def create_item(session: SessionDep, user: CurrentUser, body: ItemCreate) -> Response:
    item = await session.run_sync(_create_item, user, body)
    # Serialised once (FastAPI would validate the model against ItemPublic again first).
    return json_answer(item, status.HTTP_201_CREATED)


def _create_item(session: Session, user: User, body: ItemCreate) -> ItemPublic:
    return ItemPublic.model_validate(service.create_item(session, owner=user, data=body))


@router.get("", responses=AUTHENTICATED, response_model=ItemsPublic)
async def read_items(access: ReadAccessDep, page: PageDep) -> Response:
    """Your items (all items for a superuser), oldest first."""
    # The busiest route (issue 25): one Core statement built once, the access-token check
    # joined into the page (so a revocation still takes effect at once), on a connection given
    # back before the answer is written, serialised once. A page without rows (a refusal, a
    # superuser, an empty list or a page past the end) takes the usual way: authenticate, for
    # the precise 401, then the page.
    rows = await read_rows(
        access.database,
        service.OWN_PAGE_IF_LIVE,
        {**access.login_parameters(), "offset": page.offset, "limit": page.limit},
    )
    if rows:
        data = [dict(zip(service.ITEM_PUBLIC_FIELDS, row, strict=False)) for row in rows]
        return json_answer({"data": data, "count": rows[0].total})
    answer = await run_read(access.database, _read_items_long_way, access.claims, page)
    return json_answer(answer)


def _read_items_long_way(session: Session, claims: TokenClaims, page: Page) -> ItemsPublic:
    user = authenticate(session, claims)
    items = service.list_visible(session, user=user, page=page)
    return ItemsPublic(data=[ItemPublic.model_validate(i) for i in items.rows], count=items.total)


@router.get("/{item_id}", responses=_404)
async def read_item(session: SessionDep, user: CurrentUser, item_id: ResourceId) -> ItemPublic:
    return await session.run_sync(_read_item, user, item_id)


def _read_item(session: Session, user: User, item_id: int) -> ItemPublic:
    return ItemPublic.model_validate(service.get_visible(session, user=user, item_id=item_id))


@router.patch("/{item_id}", responses=_404)
async def update_item(
    session: SessionDep, user: CurrentUser, item_id: ResourceId, body: ItemUpdate
) -> ItemPublic:
    return await session.run_sync(_update_item, user, item_id, body)


def _update_item(session: Session, user: User, item_id: int, body: ItemUpdate) -> ItemPublic:
    item = service.get_visible(session, user=user, item_id=item_id)
    return ItemPublic.model_validate(service.update_item(session, item=item, data=body))


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_404)
async def delete_item(session: SessionDep, user: CurrentUser, item_id: ResourceId) -> None:
    await session.run_sync(_delete_item, user, item_id)


def _delete_item(session: Session, user: User, item_id: int) -> None:
    service.delete_item(session, item=service.get_visible(session, user=user, item_id=item_id))
