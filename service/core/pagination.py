"""One way to answer a page of a list and its total, for every list route (items, users, orders).

The total rides on every row of the page as a window over the whole filtered result
(`count(*) OVER ()`, PostgreSQL and SQLite ≥ 3.25), so a page and its total are one round trip
and one snapshot. A page with no rows (an empty list, or an offset past the end) carries no
total: only then is the count asked on its own, so a page beyond the end still reports how
many there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from service.core.params import Page

T = TypeVar("T")
# A column (`Item.id`) or an ordering of one (`Order.id.desc()`).
OrderBy = QueryableAttribute[Any] | ColumnElement[Any]


@dataclass(frozen=True)
class PageOf(Generic[T]):
    rows: list[T]
    total: int


def page_query(query: Select[Any], *, order_by: OrderBy, page: Page) -> Select[Any]:
    """`query` (selecting one entity) cut to `page`, with the total as a second column."""
    return (
        query.add_columns(func.count().over().label("total"))
        .order_by(order_by)
        .offset(page.offset)
        .limit(page.limit)
    )


def count_query(query: Select[Any]) -> Select[Any]:
    """How many rows `query` matches (its loader options and ordering play no part)."""
    return select(func.count()).select_from(query.order_by(None).subquery())


def read_page(
    session: Session, query: Select[Any], *, order_by: OrderBy, page: Page
) -> PageOf[Any]:
    """The rows of `query` on `page`, ordered by `order_by`, and how many rows match in all."""
    found = read_page_with_rows(session, query, order_by=order_by, page=page)
    if found is not None:
        return found
    return PageOf([], int(session.execute(count_query(query)).scalar_one()))


def read_page_with_rows(
    session: Session,
    query: Select[Any],
    *,
    order_by: OrderBy,
    page: Page,
) -> PageOf[Any] | None:
    """As `read_page` in one round trip, or None when the page has no rows (the total is then
    unknown: the caller asks `read_page`, or first finds out why there were none)."""
    rows = session.execute(page_query(query, order_by=order_by, page=page)).all()
    if not rows:
        return None
    return PageOf([row[0] for row in rows], int(rows[0].total))
