"""The limit reference does the service's work: same answers, same refusals, same order rows.

Both apps run in-process on one PostgreSQL database with one set of settings; every request
is sent to both and the answers compared. If the reference skipped a check the service makes
(an inactive user, a deleted user, a refresh token used as an access token), or wrote less for
an order, its speed would be no limit at all; these tests would then fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from service.app import create_app
from service.core.config import Settings
from service.core.db import Database
from service.messaging.outbox import OutboxEvent
from service.orders.models import OrderLine, OrderStatusChange
from service.users.models import User
from tests.utils.databases import migrated_postgres_database
from tests.utils.users import LoggedIn, register_and_login
from tools.bench.reference import create_reference_app

pytestmark = pytest.mark.postgres

VOLATILE = {"id", "created_at", "updated_at", "at"}  # differ between two writes of the same data


@pytest.fixture(scope="module")
def settings() -> Iterator[Settings]:
    with migrated_postgres_database("shipyard_reference") as url:
        yield Settings(environment="local", database_url=url, relay_enabled=False)


@pytest.fixture(scope="module")
def database(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def service(settings: Settings, database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, database=database)) as client:
        yield client


@pytest.fixture(scope="module")
def reference(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_reference_app(settings)) as client:
        yield client


@pytest.fixture
def user(service: TestClient) -> LoggedIn:
    user = register_and_login(service)
    for n in range(3):
        created = service.post(
            "/api/v1/items", headers=user.headers, json={"title": f"item {n}", "price": "2.5"}
        )
        assert created.status_code == 201, created.text
    return user


def without_volatile(value: object) -> object:
    if isinstance(value, dict):
        return {k: without_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [without_volatile(v) for v in value]
    return value


def both(
    service: TestClient, reference: TestClient, method: str, path: str, **kwargs: object
) -> tuple[int, object]:
    ours = service.request(method, path, **kwargs)  # type: ignore[arg-type]
    theirs = reference.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert ours.status_code == theirs.status_code, (path, ours.text, theirs.text)
    if ours.status_code >= 400:
        assert ours.json()["code"] == theirs.json()["code"], (ours.text, theirs.text)
        return ours.status_code, ours.json()["code"]
    assert ours.json() == theirs.json(), path
    return ours.status_code, ours.json()


@pytest.mark.parametrize(
    "path", ["/api/v1/users/me", "/api/v1/items", "/api/v1/items?limit=2&offset=1"]
)
def test_reads_answer_exactly_what_the_service_answers(
    service: TestClient, reference: TestClient, user: LoggedIn, path: str
) -> None:
    status, body = both(service, reference, "GET", path, headers=user.headers)
    assert status == 200
    assert body


def test_a_page_past_the_end_still_counts_the_items(
    service: TestClient, reference: TestClient, user: LoggedIn
) -> None:
    _, body = both(service, reference, "GET", "/api/v1/items?offset=50", headers=user.headers)
    assert body == {"data": [], "count": 3}


def test_a_superuser_sees_every_item_in_both(
    service: TestClient, reference: TestClient, user: LoggedIn, database: Database
) -> None:
    register_and_login(service)  # someone else with no items, so "all" differs from "own"
    with database.sessions() as session:
        session.execute(update(User).where(User.id == user.id).values(is_superuser=True))
        session.commit()
    _, body = both(service, reference, "GET", "/api/v1/items?limit=100", headers=user.headers)
    assert isinstance(body, dict)
    assert body["count"] >= 3


def test_the_same_tokens_are_refused_for_the_same_reasons(
    service: TestClient, reference: TestClient, user: LoggedIn, database: Database
) -> None:
    path = "/api/v1/items"
    assert both(service, reference, "GET", path)[0] == 401
    garbage = {"Authorization": "Bearer not-a-jwt"}
    assert both(service, reference, "GET", path, headers=garbage)[0] == 401
    refresh = {"Authorization": f"Bearer {user.refresh_token}"}
    assert both(service, reference, "GET", path, headers=refresh)[0] == 401

    with database.sessions() as session:
        session.execute(update(User).where(User.id == user.id).values(is_active=False))
        session.commit()
    assert both(service, reference, "GET", path, headers=user.headers) == (401, "invalid_token")

    with database.sessions() as session:
        session.execute(delete(User).where(User.id == user.id))
        session.commit()
    assert both(service, reference, "GET", path, headers=user.headers) == (401, "invalid_token")


def test_item_create_stores_and_answers_the_same_item(
    service: TestClient, reference: TestClient, user: LoggedIn
) -> None:
    body = {"title": "same", "description": "both ways", "price": "3"}
    ours = service.post("/api/v1/items", headers=user.headers, json=body)
    theirs = reference.post("/api/v1/items", headers=user.headers, json=body)
    assert ours.status_code == theirs.status_code == 201
    assert without_volatile(ours.json()) == without_volatile(theirs.json())
    assert theirs.json()["price"] == "3.00"
    # The reference's row is a real row: the service lists it like its own.
    listed = service.get("/api/v1/items?limit=100", headers=user.headers).json()["data"]
    assert theirs.json() in listed
    assert (
        both(service, reference, "POST", "/api/v1/items", headers=user.headers, json={})[0] == 422
    )


def order_rows(database: Database, order_id: int) -> tuple[int, int, int]:
    with database.sessions() as session:
        lines = session.scalar(
            select(func.count()).select_from(OrderLine).where(OrderLine.order_id == order_id)
        )
        changes = session.scalar(
            select(func.count())
            .select_from(OrderStatusChange)
            .where(OrderStatusChange.order_id == order_id)
        )
        events = session.scalars(select(OutboxEvent.payload)).all()
    return lines or 0, changes or 0, sum(f'"order_id":{order_id},' in p for p in events)


def test_order_placement_writes_the_same_transaction(
    service: TestClient, reference: TestClient, user: LoggedIn, database: Database
) -> None:
    item_id = service.get("/api/v1/items", headers=user.headers).json()["data"][0]["id"]
    body = {"lines": [{"item_id": item_id, "quantity": 2}]}
    ours = service.post(
        "/api/v1/orders", headers={**user.headers, "Idempotency-Key": "ours"}, json=body
    )
    headers = {**user.headers, "Idempotency-Key": "theirs"}
    theirs = reference.post("/api/v1/orders", headers=headers, json=body)
    assert ours.status_code == theirs.status_code == 202, theirs.text
    assert without_volatile(ours.json()) == without_volatile(theirs.json())
    # Order, one line, its first status and its outbox event: the same rows the service writes.
    assert order_rows(database, theirs.json()["id"]) == order_rows(database, ours.json()["id"])
    assert order_rows(database, theirs.json()["id"]) == (1, 1, 1)

    replay = reference.post("/api/v1/orders", headers=headers, json=body)
    assert replay.status_code == 202
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert without_volatile(replay.json()) == without_volatile(theirs.json())
    assert replay.json()["id"] == theirs.json()["id"]

    other = {"lines": [{"item_id": item_id, "quantity": 3}]}
    key = {**user.headers, "Idempotency-Key": "theirs"}
    assert reference.post("/api/v1/orders", headers=key, json=other).status_code == 409
    unknown = {"lines": [{"item_id": 2_000_000_000, "quantity": 1}]}
    fresh = {**user.headers, "Idempotency-Key": "fresh"}
    assert both(service, reference, "POST", "/api/v1/orders", headers=fresh, json=unknown) == (
        422,
        "unknown_item",
    )
