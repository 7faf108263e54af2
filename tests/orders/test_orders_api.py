"""Placing and reading orders over HTTP, and the outbox rows they leave (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.core.db import Database
from service.messaging.outbox import OutboxEvent
from tests.utils.users import LoggedIn


@pytest.fixture
def lamp(client: TestClient, user: LoggedIn) -> dict:
    response = client.post(
        "/api/v1/items", headers=user.headers, json={"title": "Lamp", "price": "12.50"}
    )
    return response.json()


def place(client: TestClient, user: LoggedIn, lines: list[dict], key: str = "key-1"):
    return client.post(
        "/api/v1/orders",
        headers={**user.headers, "Idempotency-Key": key},
        json={"lines": lines},
    )


def outbox_rows(database: Database) -> list[OutboxEvent]:
    with database.sessions() as session:
        return list(session.execute(select(OutboxEvent).order_by(OutboxEvent.id)).scalars())


def test_place_order_is_202_pending_with_lines_total_and_history(
    client: TestClient, user: LoggedIn, lamp: dict
) -> None:
    response = place(client, user, [{"item_id": lamp["id"], "quantity": 3}])
    assert response.status_code == 202
    order = response.json()
    assert order["status"] == "pending"
    assert order["total"] == "37.50"
    assert order["lines"] == [
        {
            "item_id": lamp["id"],
            "title": "Lamp",
            "unit_price": "12.50",
            "quantity": 3,
            "line_total": "37.50",
        }
    ]
    assert [h["status"] for h in order["status_history"]] == ["pending"]
    assert order["failure_reason"] is None


def test_place_order_writes_one_outbox_event_in_the_same_transaction(
    client: TestClient, user: LoggedIn, lamp: dict, database: Database
) -> None:
    order = place(client, user, [{"item_id": lamp["id"], "quantity": 1}]).json()
    rows = outbox_rows(database)
    assert len(rows) == 1
    event = rows[0]
    assert event.topic == "orders"
    assert event.event_type == "order.placed"
    assert event.ordering_key == f"customer-{user.id}"
    assert event.sent_at is None
    payload = json.loads(event.payload)
    assert payload["event_id"] == event.event_id
    assert payload["data"] == {"order_id": order["id"], "customer_id": user.id}


def test_same_idempotency_key_and_body_returns_the_same_order(
    client: TestClient, user: LoggedIn, lamp: dict, database: Database
) -> None:
    lines = [{"item_id": lamp["id"], "quantity": 1}]
    first = place(client, user, lines, key="retry-me")
    second = place(client, user, lines, key="retry-me")
    assert second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(outbox_rows(database)) == 1  # no second event
    assert client.get("/api/v1/orders", headers=user.headers).json()["count"] == 1


def test_same_idempotency_key_with_another_body_is_409(
    client: TestClient, user: LoggedIn, lamp: dict
) -> None:
    place(client, user, [{"item_id": lamp["id"], "quantity": 1}], key="k")
    response = place(client, user, [{"item_id": lamp["id"], "quantity": 2}], key="k")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"


def test_idempotency_keys_are_per_customer(
    client: TestClient, user: LoggedIn, other_user: LoggedIn, lamp: dict
) -> None:
    theirs_item = client.post(
        "/api/v1/items", headers=other_user.headers, json={"title": "Desk", "price": "80"}
    ).json()
    mine = place(client, user, [{"item_id": lamp["id"], "quantity": 1}], key="shared").json()
    theirs = place(
        client, other_user, [{"item_id": theirs_item["id"], "quantity": 1}], key="shared"
    ).json()
    assert mine["id"] != theirs["id"]


def test_missing_idempotency_key_is_422(client: TestClient, user: LoggedIn, lamp: dict) -> None:
    response = client.post(
        "/api/v1/orders",
        headers=user.headers,
        json={"lines": [{"item_id": lamp["id"], "quantity": 1}]},
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]


@pytest.mark.parametrize(
    ("lines", "needle"),
    [
        ([], "lines"),
        ([{"item_id": 1, "quantity": 0}], "quantity"),
        ([{"item_id": 1, "quantity": -2}], "quantity"),
        ([{"item_id": 1, "quantity": 1.5}], "quantity"),
        ([{"item_id": 1, "quantity": "two"}], "quantity"),
        ([{"item_id": 1}], "quantity"),
        ([{"quantity": 1}], "item_id"),
    ],
)
def test_invalid_lines_are_422_naming_the_field(
    client: TestClient, user: LoggedIn, lines: list, needle: str
) -> None:
    response = place(client, user, lines)
    assert response.status_code == 422
    assert needle in response.json()["detail"]


def test_unknown_item_is_422_naming_the_line(
    client: TestClient, user: LoggedIn, lamp: dict, database: Database
) -> None:
    response = place(
        client, user, [{"item_id": lamp["id"], "quantity": 1}, {"item_id": 99999, "quantity": 1}]
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "lines.1.item_id: no such item (or not yours)"
    assert outbox_rows(database) == []  # nothing half-written


def test_ordering_anothers_item_answers_exactly_like_a_missing_item(
    client: TestClient, user: LoggedIn, other_user: LoggedIn, lamp: dict, database: Database
) -> None:
    # Attack: probe another user's private item through an order (GET /items/{id} is 404 to them).
    secret = {"title": "Prototype X-17", "price": "4321.99"}
    private = client.post("/api/v1/items", headers=user.headers, json=secret).json()
    missing_id = private["id"] + 1000

    through_order = place(client, other_user, [{"item_id": private["id"], "quantity": 1}], "a")
    no_such_item = place(client, other_user, [{"item_id": missing_id, "quantity": 1}], "b")

    assert through_order.status_code == no_such_item.status_code == 422
    assert _without_request_id(through_order.json()) == _without_request_id(no_such_item.json())
    # The answer without its random request id (a hex id may contain "4321" by chance).
    answer = json.dumps(_without_request_id(through_order.json()))
    assert "Prototype" not in answer
    assert "4321" not in answer
    assert "does not exist" not in answer  # no "item N does not exist"
    assert client.get("/api/v1/orders", headers=other_user.headers).json()["count"] == 0
    assert outbox_rows(database) == []
    # The same rule as the items routes: the owner still orders it.
    assert place(client, user, [{"item_id": private["id"], "quantity": 1}], "c").status_code == 202


def test_superuser_may_order_any_item(
    client: TestClient, user: LoggedIn, superuser: LoggedIn, lamp: dict
) -> None:
    # A superuser sees every item (GET /items/{id}), so by the one rule may order every item.
    assert place(client, superuser, [{"item_id": lamp["id"], "quantity": 1}]).status_code == 202


def _without_request_id(body: dict) -> dict:
    return {key: value for key, value in body.items() if key != "request_id"}


def test_duplicate_item_lines_are_422(client: TestClient, user: LoggedIn, lamp: dict) -> None:
    line = {"item_id": lamp["id"], "quantity": 1}
    assert place(client, user, [line, line]).status_code == 422


def test_read_orders_lists_own_newest_first(
    client: TestClient, user: LoggedIn, other_user: LoggedIn, lamp: dict
) -> None:
    line = [{"item_id": lamp["id"], "quantity": 1}]
    first = place(client, user, line, key="a").json()
    second = place(client, user, line, key="b").json()
    place(client, other_user, line, key="c")
    body = client.get("/api/v1/orders", headers=user.headers).json()
    assert body["count"] == 2
    assert [o["id"] for o in body["data"]] == [second["id"], first["id"]]


def test_read_order(client: TestClient, user: LoggedIn, lamp: dict) -> None:
    order = place(client, user, [{"item_id": lamp["id"], "quantity": 1}]).json()
    response = client.get(f"/api/v1/orders/{order['id']}", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == order


def test_others_order_is_404(
    client: TestClient, user: LoggedIn, other_user: LoggedIn, lamp: dict
) -> None:
    order = place(client, user, [{"item_id": lamp["id"], "quantity": 1}]).json()
    response = client.get(f"/api/v1/orders/{order['id']}", headers=other_user.headers)
    assert response.status_code == 404


def test_orders_need_authentication(client: TestClient) -> None:
    assert client.get("/api/v1/orders").status_code == 401


def test_order_keeps_title_and_price_when_item_changes_later(
    client: TestClient, user: LoggedIn, lamp: dict
) -> None:
    order = place(client, user, [{"item_id": lamp["id"], "quantity": 1}]).json()
    client.patch(
        f"/api/v1/items/{lamp['id']}", headers=user.headers, json={"price": "99", "title": "New"}
    )
    again = client.get(f"/api/v1/orders/{order['id']}", headers=user.headers).json()
    assert again["lines"][0]["title"] == "Lamp"
    assert again["lines"][0]["unit_price"] == "12.50"


def test_deleting_an_ordered_item_keeps_the_order(
    client: TestClient, user: LoggedIn, lamp: dict
) -> None:
    order = place(client, user, [{"item_id": lamp["id"], "quantity": 1}]).json()
    assert client.delete(f"/api/v1/items/{lamp['id']}", headers=user.headers).status_code == 204
    again = client.get(f"/api/v1/orders/{order['id']}", headers=user.headers).json()
    assert again["lines"][0]["item_id"] is None
