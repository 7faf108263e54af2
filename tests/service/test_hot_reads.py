"""The hot reads' own path (issue 25): Core rows on an AsyncConnection, serialised once, with the
connection back in the pool before the answer is written, and the session path's guarantees
(the schema's exact answer, the stale-connection retry, 503 in an outage) kept."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.types import Message, Receive, Scope, Send

from service.core.db import STALE_CONNECTION_RETRIED, Database
from service.items.models import Item
from service.items.schemas import ItemPublic, ItemsPublic
from service.users.models import User
from service.users.schemas import UserPublic
from tests.utils.tcp_proxy import TcpProxy
from tests.utils.users import LoggedIn, register_and_login


def _add_items(client: TestClient, user: LoggedIn, how_many: int) -> None:
    for n in range(how_many):
        body = {"title": f"item {n}", "price": "2.5", "description": "ünïcode ✓"}
        assert client.post("/api/v1/items", headers=user.headers, json=body).status_code == 201


def test_the_hot_reads_answer_the_exact_bytes_their_schemas_would(
    client: TestClient, user: LoggedIn, database: Database
) -> None:
    # The rows go to JSON without the schema's validation: the bytes must still be what the
    # schema (validating the ORM objects) serialises, field for field and type for type.
    _add_items(client, user, 3)
    me = client.get("/api/v1/users/me", headers=user.headers)
    page = client.get("/api/v1/items?limit=2&offset=1", headers=user.headers)
    with database.sessions() as session:
        stored_user = session.get(User, user.id)
        items = session.scalars(
            select(Item).where(Item.owner_id == user.id).order_by(Item.id).offset(1).limit(2)
        ).all()
        expected_me = UserPublic.model_validate(stored_user).model_dump_json().encode()
        expected_page = ItemsPublic(
            data=[ItemPublic.model_validate(i) for i in items], count=3
        ).model_dump_json()
    assert (me.status_code, me.headers["content-type"]) == (200, "application/json")
    assert me.content == expected_me
    assert page.content == expected_page.encode()
    assert page.json()["data"][0]["price"] == "2.50"  # a string with cents, as the schema says


async def _pool_in_use(database: Database) -> int:
    return int(database.async_engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]


def _watching_the_pool(app: FastAPI, database: Database, seen: list[int]) -> Any:
    """`app`, noting how many pooled connections are out when its answer starts to be written."""

    async def watched(scope: Scope, receive: Receive, send: Send) -> None:
        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.append(await _pool_in_use(database))
            await send(message)

        await app(scope, receive, noting)

    return watched


async def _held_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    async with request.app.state.db.async_engine.connect() as connection:
        yield connection  # FastAPI closes a yield dependency after the answer is sent


HeldConnection = Annotated[AsyncConnection, Depends(_held_connection)]


def test_a_hot_read_gives_its_connection_back_before_the_answer_is_written(
    app: FastAPI, database: Database
) -> None:
    # A client that reads slowly must not keep a connection (issue 23): the hot reads return
    # theirs to the pool before the first byte of the answer goes out.
    @app.get("/test/held")
    async def holds(_: HeldConnection) -> dict[str, str]:
        return {"held": "yes"}

    seen: list[int] = []
    with TestClient(_watching_the_pool(app, database, seen)) as client:
        user = register_and_login(client, database=database)
        _add_items(client, user, 2)
        seen.clear()
        for path in ("/api/v1/users/me", "/api/v1/items?limit=1", "/api/v1/items?offset=9"):
            assert client.get(path, headers=user.headers).status_code == 200
        assert client.get("/test/held").status_code == 200  # the control
    # The list's empty page takes the long way (an ORM session): closed before answering too.
    assert seen == [0, 0, 0, 1], seen


@pytest.mark.postgres
def test_a_hot_read_retries_a_stale_connection_once_and_answers_503_in_an_outage(
    app: FastAPI,
    proxied_postgres: tuple[str, TcpProxy],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, proxy = proxied_postgres
    app.state.db = Database(url, pool_size=1, max_overflow=0, pre_ping=False)

    with TestClient(app) as client, caplog.at_level(logging.INFO):
        user = register_and_login(client)
        _add_items(client, user, 1)
        answers = []
        for path in ("/api/v1/users/me", "/api/v1/items"):
            assert client.get(path, headers=user.headers).status_code == 200  # pooled now
            proxy.restart()
            answers.append(client.get(path, headers=user.headers))
        proxy.stop()  # down, and staying down: the connect fails, and is not retried
        down = client.get("/api/v1/users/me", headers=user.headers)
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json()["id"] == user.id
    assert answers[1].json()["count"] == 1
    retried = [r for r in caplog.records if r.getMessage() == STALE_CONNECTION_RETRIED]
    # Three: the two restarts, and the outage's dead pooled connection, whose one retry then
    # fails to connect (not retried again).
    assert [r.name for r in retried] == ["service.core.db_reads"] * 3
    assert (down.status_code, down.json()["code"]) == (503, "database_unavailable")
    assert down.headers["Retry-After"]
    app.state.db.dispose()


def test_the_hot_reads_refuse_a_token_at_once_after_logout_everywhere(
    client: TestClient, user: LoggedIn
) -> None:
    _add_items(client, user, 1)
    for path in ("/api/v1/users/me", "/api/v1/items"):
        assert client.get(path, headers=user.headers).status_code == 200  # the control
    assert client.post("/api/v1/auth/logout-all", headers=user.headers).status_code == 204
    for path in ("/api/v1/users/me", "/api/v1/items"):
        refused = client.get(path, headers=user.headers)
        assert (refused.status_code, refused.json()["code"]) == (401, "invalid_token"), path
        assert refused.headers["WWW-Authenticate"] == "Bearer"


def test_the_hot_reads_keep_their_schema_and_security_in_the_openapi_description(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, schema in (("/api/v1/users/me", "UserPublic"), ("/api/v1/items", "ItemsPublic")):
        answer = paths[path]["get"]
        ok = answer["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{schema}"}, path
        assert answer["security"] == [{"OAuth2PasswordBearer": []}], path
