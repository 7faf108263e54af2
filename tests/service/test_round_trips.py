"""What the api sends to the database per request, counted as the driver sends it (issue 14):
the hot reads are one statement each, and the shortcut that joins the token check into the
items page still refuses a revoked login at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from service.core.db import Database
from tests.utils.users import LoggedIn


@contextmanager
def api_statements(database: Database) -> Iterator[list[str]]:
    """The statements the api's (async) engine sends while the block runs."""
    sent: list[str] = []
    engine = database.async_engine.sync_engine

    def count(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _items(client: TestClient, user: LoggedIn, how_many: int) -> None:
    for n in range(how_many):
        body = {"title": f"item {n}", "price": "1.00"}
        assert client.post("/api/v1/items", headers=user.headers, json=body).status_code == 201


def test_the_hot_reads_are_one_statement_each(
    client: TestClient, user: LoggedIn, database: Database
) -> None:
    _items(client, user, 3)
    for path, expected in (("/api/v1/items?limit=2", 2), ("/api/v1/users/me", None)):
        with api_statements(database) as sent:
            response = client.get(path, headers=user.headers)
        assert response.status_code == 200
        assert len(sent) == 1, sent
        if expected is not None:
            assert (len(response.json()["data"]), response.json()["count"]) == (expected, 3)


def test_an_items_page_without_rows_takes_the_long_way_with_the_right_total(
    client: TestClient, user: LoggedIn, database: Database
) -> None:
    _items(client, user, 2)
    with api_statements(database) as sent:
        response = client.get("/api/v1/items?offset=5", headers=user.headers)
    assert response.json() == {"data": [], "count": 2}
    assert len(sent) == 4  # the joined page (no rows), the user, the page again, the count


def test_the_joined_check_refuses_a_login_ended_a_moment_ago(
    client: TestClient, user: LoggedIn
) -> None:
    _items(client, user, 1)
    assert client.get("/api/v1/items", headers=user.headers).status_code == 200  # control
    assert client.post("/api/v1/auth/logout-all", headers=user.headers).status_code == 204
    refused = client.get("/api/v1/items", headers=user.headers)
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_token")


def test_a_superuser_still_sees_every_item_through_the_long_way(
    client: TestClient, user: LoggedIn, superuser: LoggedIn
) -> None:
    _items(client, user, 1)
    _items(client, superuser, 1)
    assert client.get("/api/v1/items", headers=superuser.headers).json()["count"] == 2
