"""Item data functions.

Visibility, one rule for every route that names an item (items and orders alike): a normal user
sees, changes and orders only their own items; a superuser sees all. There is no public catalogue
(items have no published state, stock or seller page), so an item that is not yours answers
exactly like one that does not exist: existence is never disclosed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, RowMapping, Select, select
from sqlalchemy.orm import Session

from service.core.errors import not_found
from service.core.pagination import PageOf, read_page, read_page_with_rows
from service.core.params import Page
from service.items.models import Item
from service.items.schemas import ItemCreate, ItemUpdate
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


def list_own_if(
    session: Session, *, owner_id: int, condition: ColumnElement[bool], page: Page
) -> PageOf[RowMapping] | None:
    """A page of `owner_id`'s own items as column mappings (read-only, no ORM objects), in one
    round trip, when `condition` (a check of the caller joined into the query) holds and the
    page has rows; else None."""
    own = select(*Item.__table__.columns).where(Item.owner_id == owner_id, condition)
    return read_page_with_rows(session, own, order_by=Item.id, page=page, as_mappings=True)


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
