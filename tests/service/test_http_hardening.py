"""Attacks on the HTTP surface: caching of tokens, framing and sniffing, and oversized bodies.

The body limit is attacked twice: through TestClient (the answer and its shape), and against the
real server process over a raw socket, where what matters is that the server answers 413 while
most of the body has not even been sent, i.e. it never waits for (or reads) the whole of it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.core.config import Settings
from tests.service.test_server_drain import Api
from tests.utils.users import PASSWORD, LoggedIn
from tools.local.processes import terminate

MIB = 1024 * 1024


def assert_api_security_headers(headers: httpx.Headers) -> None:
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp


# --- headers ----------------------------------------------------------------------------------


def test_token_responses_are_never_cached(client: TestClient, user: LoggedIn) -> None:
    # RFC 6749 section 5.1: a proxy or browser cache must not keep a token response.
    login = client.post("/api/v1/auth/token", data={"username": user.email, "password": PASSWORD})
    refresh = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    for response in (login, refresh):
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"
        assert_api_security_headers(response.headers)


@pytest.mark.parametrize(
    ("method", "path", "authenticated"),
    [
        ("GET", "/api/v1/items", True),
        ("GET", "/api/v1/orders/999", True),  # a 404 in the error shape
        ("GET", "/api/v1/items", False),  # a 401
        ("GET", "/api/v1/users/me", True),
    ],
)
def test_api_answers_carry_security_headers_and_are_not_stored(
    client: TestClient, user: LoggedIn, method: str, path: str, authenticated: bool
) -> None:
    headers = user.headers if authenticated else {}
    response = client.request(method, path, headers=headers)
    assert response.headers["content-type"].startswith("application/json")
    assert_api_security_headers(response.headers)
    assert response.headers["cache-control"] == "no-store"  # per-user data: no cache keeps it


def test_health_and_openapi_carry_the_strict_policy(client: TestClient) -> None:
    for path in ("/healthz", "/openapi.json"):
        assert_api_security_headers(client.get(path).headers)


def test_the_docs_pages_get_a_policy_that_lets_them_load(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        csp = response.headers["content-security-policy"]
        # FastAPI's pages load their bundle from jsDelivr and start it with an inline script.
        assert "https://cdn.jsdelivr.net" in csp
        assert "https://cdn.jsdelivr.net" in response.text
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"


# --- body size -----------------------------------------------------------------------------------


def test_a_large_json_body_is_413_in_the_error_shape(client: TestClient) -> None:
    # Attack: a 30 MiB sign-up body (it used to be parsed whole before the 422).
    body = json.dumps({"email": "a@example.com", "password": "x" * (30 * MIB)})
    response = client.post(
        "/api/v1/users", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_entity_too_large"
    assert "1048576 bytes" in response.json()["detail"]
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_a_chunked_body_without_content_length_is_counted_too(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"email": "a@example.com", "password": "'
        for _ in range(3):
            yield b"x" * MIB
        yield b'"}'

    response = client.post(
        "/api/v1/users", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_a_large_login_form_is_413(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/token", data={"username": "a@example.com", "password": "x" * (2 * MIB)}
    )
    assert response.status_code == 413


def test_a_body_under_the_limit_is_read_as_before(client: TestClient, user: LoggedIn) -> None:
    description = "d" * 10_000  # the longest description an item may have
    response = client.post(
        "/api/v1/items",
        headers=user.headers,
        json={"title": "t", "price": "1", "description": description},
    )
    assert response.status_code == 201


def test_the_limit_is_a_setting(settings: Settings) -> None:
    assert settings.max_request_body_bytes == MIB
    with pytest.raises(ValueError, match="max_request_body_bytes"):
        Settings(environment="local", max_request_body_bytes=10)


# --- against the real server ---------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Api]:
    api = Api(tmp_path)
    yield api
    terminate(api.process)


def _answer_without_sending_the_rest(port: int, head: bytes, first_part: bytes) -> bytes:
    """Send the head and the start of a body, then only read. The server must answer now: a
    server waiting for the whole body would keep us waiting until the socket's timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head + first_part)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


@pytest.mark.slow
def test_the_server_refuses_a_declared_30_mib_body_before_it_arrives(server: Api) -> None:
    head = (
        b"POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(30 * MIB).encode() + b"\r\n\r\n"
    )
    answer = _answer_without_sending_the_rest(server.port, head, b'{"email": "' + b"x" * 65536)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


@pytest.mark.slow
def test_the_server_refuses_a_chunked_body_once_it_passes_the_limit(server: Api) -> None:
    head = (
        b"POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * (256 * 1024)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6))  # 1.5 MiB of many
    answer = _answer_without_sending_the_rest(server.port, head, chunks)  # no final 0-chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
