"""Item data functions.

Visibility, one rule for every route that names an item (items and orders alike): a normal user
sees, changes and orders only their own items; a superuser sees all. There is no public catalogue
(items have no published state, stock or seller page), so an item that is not yours answers
exactly like one that does not exist: existence is never disclosed.
"""

from __future__ import annotations

from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.orm import Session

from service.auth.read_access import LIVE_NORMAL_USER
from service.core.errors import not_found
from service.core.pagination import PageOf, page_query, read_page
from service.core.params import Page
from service.items.models import Item
from service.items.schemas import ItemCreate, ItemPublic, ItemUpdate
from service.users.models import User


def _visible_to(user: User) -> Select[Item]:
    query = select(Item)
    return query if user.is_superuser else query.where(Item.owner_id == user.id)


def get_visible(session: Session, *, user: User, item_id: int) -> Item:
    # Others' items answer 404, not 403: existence is not disclosed.
    item = session.execute(_visible_to(user).where(Item.id == item_id)).scalar_one_or_none()
    if item is None:
        raise not_found("item")
    return item


def visible_by_id(session: Session, *, user: User, item_ids: list[int]) -> dict[int, Item]:
    """The items among `item_ids` that `user` may see, by id; the others are simply absent."""
    query = _visible_to(user).where(Item.id.in_(item_ids))
    return {item.id: item for item in session.execute(query).scalars()}


def list_visible(session: Session, *, user: User, page: Page) -> PageOf[Item]:
    return read_page(session, _visible_to(user), order_by=Item.id, page=page)


# The hot item list's statement (service/items/router.py), built once with bind parameters:
# `ItemPublic`'s columns of the caller's own items and the total on each row (as `read_page`),
# only while the caller's access token is live (its check joined in, one round trip).
ITEM_PUBLIC_FIELDS = tuple(ItemPublic.model_fields)
OWN_PAGE_IF_LIVE = page_query(
    select(*(Item.__table__.c[name] for name in ITEM_PUBLIC_FIELDS)).where(
        Item.owner_id == bindparam("user_id"), LIVE_NORMAL_USER
    ),
    order_by=Item.id,
    # Bind parameters where a request's numbers go (page_query takes them as they come).
    page=Page(
        offset=bindparam("offset", type_=Integer),  # type: ignore[arg-type]
        limit=bindparam("limit", type_=Integer),  # type: ignore[arg-type]
    ),
)


def create_item(session: Session, *, owner: User, data: ItemCreate) -> Item:
    item = Item(owner_id=owner.id, **data.model_dump())
    session.add(item)
    session.commit()
    return item


def update_item(session: Session, *, item: Item, data: ItemUpdate) -> Item:
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    session.commit()
    return item


def delete_item(session: Session, *, item: Item) -> None:
    session.delete(item)
    session.commit()
