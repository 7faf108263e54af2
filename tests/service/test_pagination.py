"""Every list route pages the same way (service/core/pagination.py): the page and the total of
the whole list, in one round trip when the page has rows, and the right total past the end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from service.core.db import Database
from service.core.pagination import read_page
from service.core.params import Page
from service.users.models import User
from tests.utils.users import LoggedIn


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(args[2])

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def _fill(client: TestClient, user: LoggedIn, how_many: int) -> None:
    """`how_many` items of `user`, and an order of each."""
    for n in range(how_many):
        item = client.post(
            "/api/v1/items", headers=user.headers, json={"title": f"item {n}", "price": "1.00"}
        ).json()
        placed = client.post(
            "/api/v1/orders",
            headers={**user.headers, "Idempotency-Key": f"key-{n}"},
            json={"lines": [{"item_id": item["id"], "quantity": 1}]},
        )
        assert placed.status_code == 202, placed.text


@pytest.mark.parametrize("path", ["/api/v1/items", "/api/v1/orders", "/api/v1/users"])
def test_every_list_route_reports_the_total_on_a_page_and_past_the_end(
    client: TestClient, superuser: LoggedIn, path: str
) -> None:
    _fill(client, superuser, 3)
    total = client.get(path, headers=superuser.headers).json()["count"]
    assert total >= 1
    middle = client.get(f"{path}?offset=1&limit=1", headers=superuser.headers).json()
    assert (len(middle["data"]), middle["count"]) == (min(1, total - 1), total)
    beyond = client.get(f"{path}?offset=50&limit=5", headers=superuser.headers)
    assert beyond.status_code == 200
    assert beyond.json() == {"data": [], "count": total}


def test_an_empty_list_reports_zero(client: TestClient, user: LoggedIn) -> None:
    for path in ("/api/v1/items", "/api/v1/orders"):
        assert client.get(path, headers=user.headers).json() == {"data": [], "count": 0}


def test_a_page_with_rows_is_one_statement_and_past_the_end_two(
    client: TestClient, user: LoggedIn, database: Database
) -> None:
    # Control for the fallback: the window total alone would say 0 past the end (no rows carry
    # it); the separate count must run exactly then, and only then.
    _fill(client, user, 2)
    everyone = select(User)
    with database.sessions() as session, statements(database) as sent:
        page = read_page(session, everyone, order_by=User.id, page=Page(offset=0, limit=1))
        assert (len(page.rows), page.total, len(sent)) == (1, 1, 1)
        beyond = read_page(session, everyone, order_by=User.id, page=Page(offset=9, limit=1))
        assert (beyond.rows, beyond.total, len(sent)) == ([], 1, 3)
