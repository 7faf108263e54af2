from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from service.auth.dependencies import (
    BearerToken,
    CurrentUser,
    access_claims,
    authenticate,
    live_user,
)
from service.auth.tokens import TokenClaims
from service.core.deps import SessionDep, SettingsDep
from service.core.openapi import AUTHENTICATED, Responses, error
from service.core.pagination import PageOf
from service.core.params import Page, PageDep, ResourceId
from service.items import service
from service.items.schemas import ItemCreate, ItemPublic, ItemsPublic, ItemUpdate
from service.users.models import User

router = APIRouter(prefix="/items", tags=["items"])
_404: Responses = {404: error("no such item (or not yours)")}


# Every route is `async def` and runs its data functions with `session.run_sync` (service/core/
# deps.py): on the event loop, through the async engine, with the answer built there too.


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_item(session: SessionDep, user: CurrentUser, body: ItemCreate) -> ItemPublic:
    return await session.run_sync(_create_item, user, body)


def _create_item(session: Session, user: User, body: ItemCreate) -> ItemPublic:
    return ItemPublic.model_validate(service.create_item(session, owner=user, data=body))


@router.get("", responses=AUTHENTICATED)
async def read_items(
    session: SessionDep, settings: SettingsDep, token: BearerToken, page: PageDep
) -> ItemsPublic:
    """Your items (all items for a superuser), oldest first."""
    return await session.run_sync(_read_items, access_claims(settings, token), page)


def _read_items(session: Session, claims: TokenClaims, page: Page) -> ItemsPublic:
    # The busiest route in one round trip: the access-token check joined into the page query
    # (checked in the same statement, so a revocation still takes effect at once). A page
    # without rows (a refusal, a superuser, an empty list or a page past the end) takes the
    # usual way: authenticate, for the precise 401, then the page.
    not_superuser = User.is_superuser.is_(False)
    items: PageOf[Any] | None = service.list_own_if(
        session,
        owner_id=claims.user_id,
        condition=live_user(claims, not_superuser),
        page=page,
    )
    if items is None:
        user = authenticate(session, claims)
        items = service.list_visible(session, user=user, page=page)
    # Mappings (the shortcut) and Item objects (the long way) validate alike.
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
