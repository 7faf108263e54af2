from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import ProgrammingError

from service.core.db import Database


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_ready(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_draining_is_503(client: TestClient, app: FastAPI) -> None:
    app.state.lifecycle.begin_drain()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}  # up or down only (issue 23)
    assert client.get("/healthz").status_code == 200  # still alive while draining


def test_readyz_without_database_is_503_and_healthz_stays_200(app: FastAPI) -> None:
    app.state.db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(app) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert client.get("/healthz").status_code == 200


def test_request_id_is_propagated(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


def test_request_id_is_generated_when_absent_or_insane(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    insane = client.get("/healthz", headers={"X-Request-ID": "x" * 500}).headers["x-request-id"]
    assert insane != "x" * 500


def test_the_longest_safe_request_id_is_kept(client: TestClient) -> None:
    safe = "Root-1.67891233_abcdef012345678901234567" + "x" * 88
    assert client.get("/healthz", headers={"X-Request-ID": safe}).headers["x-request-id"] == safe


@pytest.mark.parametrize(
    "chosen",
    [
        "abc\n",  # a trailing line break: a log line of its own, and "$" in a regex allows it
        "abc\nlevel=ERROR msg=forged",
        "Root-1:abcdef",  # a colon: log parsers split key:value on it
        "x" * 129,
        "<script>alert(1)</script>",
        '"quoted"',
        "spa ce",
        "ünicode",
    ],
)
def test_an_unsafe_request_id_is_replaced_not_echoed(client: TestClient, chosen: str) -> None:
    # Attack: a caller-chosen id meant to forge log lines or reflect into a page.
    response = client.get("/api/v1/nope", headers={"X-Request-ID": chosen.encode("latin-1")})
    echoed = response.headers["x-request-id"]
    assert echoed != chosen
    assert re.fullmatch(r"[0-9a-f]{32}", echoed)  # a generated one instead
    assert response.json()["request_id"] == echoed  # the body and the log lines use the same id


def test_unknown_route_is_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert set(response.json()) == {"detail", "code", "request_id"}


def test_wrong_method_is_405(client: TestClient) -> None:
    assert client.put("/healthz").status_code == 405


def test_malformed_json_is_422_not_500(client: TestClient) -> None:
    response = client.post(
        "/api/v1/users", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_malformed_json_names_the_line_and_column(client: TestClient) -> None:
    # Issue 23: this answered "invalid request: 39: JSON decode error" (39, a character offset).
    body = b'{\n  "email": "a@example.com",\n  "password": "correct horse battery",,\n}'
    response = client.post(
        "/api/v1/users", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "invalid request: the request body is not valid JSON (at line 3, column 39: expecting "
        "property name enclosed in double quotes); send a JSON object"
    )


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"email": "a@example.com"}, "password is required"),
        (
            {"email": "a@example.com", "password": "x" * 200},
            "password may have at most 128 characters",
        ),
        (
            {"email": "a@example.com", "password": "x" * 20, "admin": True},
            "admin is not a field of this request; remove it",
        ),
        ({"email": 7, "password": "x" * 20}, "email must be text (a JSON string)"),
    ],
)
def test_validation_errors_are_in_words_a_person_can_act_on(
    client: TestClient, body: dict, detail: str
) -> None:
    response = client.post("/api/v1/users", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == f"invalid request: {detail}"
    assert response.json()["errors"][0]["msg"] == detail


def test_unexpected_exception_is_500_without_internals_and_logged_with_request_id(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise ProgrammingError("SELECT secret_stuff", {}, Exception("password=hunter2"))

    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR),
    ):
        response = client.get("/boom", headers={"X-Request-ID": "req-boom"})
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert body["request_id"] == "req-boom"
    assert "hunter2" not in response.text
    assert "secret_stuff" not in response.text
    assert any(r.levelno == logging.ERROR and "unhandled" in r.getMessage() for r in caplog.records)


def test_access_log_is_json_with_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    from service.core.logs import JsonFormatter, request_id_var

    token = request_id_var.set("rid-1")
    try:
        record = logging.makeLogRecord(
            {"name": "service.access", "msg": "request", "levelno": 20, "levelname": "INFO"}
        )
        record.status = 200
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "rid-1"
    assert line["status"] == 200
    assert line["msg"] == "request"


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/v1/auth/token" in schema["paths"]
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200


def test_nul_character_is_a_4xx_on_every_backend(client: TestClient) -> None:
    """PostgreSQL refuses NUL in text; found by the schema fuzzer as a 500 on the login form."""
    login = client.post("/api/v1/auth/token", data={"username": "a\x00b", "password": "x"})
    assert 400 <= login.status_code < 500
    signup = client.post(
        "/api/v1/users",
        json={"email": "nul@example.com", "password": "twelve chars\x00long", "full_name": "a\x00"},
    )
    assert 400 <= signup.status_code < 500
