from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.utils.users import LoggedIn


def create(client: TestClient, user: LoggedIn, **fields: object) -> dict:
    body = {"title": "Lamp", "price": "12.50", **fields}
    response = client.post("/api/v1/items", headers=user.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_item(client: TestClient, user: LoggedIn) -> None:
    item = create(client, user, description="brass")
    assert item["title"] == "Lamp"
    assert item["description"] == "brass"
    assert item["price"] == "12.50"
    assert item["owner_id"] == user.id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": "1"}, "title"),
        ({"title": "", "price": "1"}, "title"),
        ({"title": "x"}, "price"),
        ({"title": "x", "price": "-0.01"}, "price"),
        ({"title": "x", "price": "abc"}, "price"),
        ({"title": "x", "price": "1.001"}, "price"),
    ],
)
def test_create_item_invalid_is_422_naming_the_field(
    client: TestClient, user: LoggedIn, body: dict, field: str
) -> None:
    response = client.post("/api/v1/items", headers=user.headers, json=body)
    assert response.status_code == 422
    assert field in response.json()["detail"]


def test_create_item_without_token_is_401(client: TestClient) -> None:
    assert client.post("/api/v1/items", json={"title": "x", "price": "1"}).status_code == 401


def test_read_items_is_paginated_and_counts_all(client: TestClient, user: LoggedIn) -> None:
    for n in range(5):
        create(client, user, title=f"item {n}")
    response = client.get("/api/v1/items?offset=1&limit=2", headers=user.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert [i["title"] for i in body["data"]] == ["item 1", "item 2"]


def test_read_items_shows_only_own_items(
    client: TestClient, user: LoggedIn, other_user: LoggedIn
) -> None:
    create(client, user)
    create(client, other_user)
    body = client.get("/api/v1/items", headers=user.headers).json()
    assert body["count"] == 1
    assert {i["owner_id"] for i in body["data"]} == {user.id}


def test_read_items_superuser_sees_all(
    client: TestClient, user: LoggedIn, other_user: LoggedIn, superuser: LoggedIn
) -> None:
    create(client, user)
    create(client, other_user)
    assert client.get("/api/v1/items", headers=superuser.headers).json()["count"] == 2


def test_read_item(client: TestClient, user: LoggedIn) -> None:
    item = create(client, user)
    response = client.get(f"/api/v1/items/{item['id']}", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == item


def test_others_item_is_404_for_read_update_delete(
    client: TestClient, user: LoggedIn, other_user: LoggedIn
) -> None:
    item = create(client, other_user)
    url = f"/api/v1/items/{item['id']}"
    assert client.get(url, headers=user.headers).status_code == 404
    assert client.patch(url, headers=user.headers, json={"title": "mine"}).status_code == 404
    assert client.delete(url, headers=user.headers).status_code == 404
    assert client.get(url, headers=other_user.headers).json()["title"] == "Lamp"


def test_superuser_can_read_others_item(
    client: TestClient, user: LoggedIn, superuser: LoggedIn
) -> None:
    item = create(client, user)
    assert client.get(f"/api/v1/items/{item['id']}", headers=superuser.headers).status_code == 200


def test_update_item_partially(client: TestClient, user: LoggedIn) -> None:
    item = create(client, user, description="old")
    response = client.patch(
        f"/api/v1/items/{item['id']}", headers=user.headers, json={"price": "3"}
    )
    assert response.status_code == 200
    assert response.json()["price"] == "3.00"
    assert response.json()["description"] == "old"
    assert response.json()["title"] == "Lamp"


def test_update_item_null_title_is_422(client: TestClient, user: LoggedIn) -> None:
    item = create(client, user)
    response = client.patch(
        f"/api/v1/items/{item['id']}", headers=user.headers, json={"title": None}
    )
    assert response.status_code == 422


def test_delete_item(client: TestClient, user: LoggedIn) -> None:
    item = create(client, user)
    url = f"/api/v1/items/{item['id']}"
    assert client.delete(url, headers=user.headers).status_code == 204
    assert client.get(url, headers=user.headers).status_code == 404


def test_missing_item_is_404_with_error_shape(client: TestClient, user: LoggedIn) -> None:
    response = client.get("/api/v1/items/424242", headers=user.headers)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found"
    assert body["detail"] == "item not found"
    assert body["request_id"] == response.headers["x-request-id"]


def test_non_integer_item_id_is_422(client: TestClient, user: LoggedIn) -> None:
    assert client.get("/api/v1/items/abc", headers=user.headers).status_code == 422
