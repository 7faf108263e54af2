"""The one API client for everything that is not a test of the service (scripts/api_client.py):
against the real app (its routes and forms are the service's), and what it says when the service
answers something else."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from scripts import api_client as api
from tests.utils.users import register

PASSWORD = "correct horse battery staple"


def test_sign_up_is_accepted_and_waits_for_its_confirmation(client: TestClient) -> None:
    accepted = api.sign_up(client, "new@example.com", PASSWORD)
    assert "check your e-mail" in accepted["detail"]
    with pytest.raises(api.ApiError, match=r"answered HTTP 403: .*email_not_confirmed"):
        api.log_in(client, "new@example.com", PASSWORD)


def test_log_in_and_refresh_against_the_real_service(client: TestClient) -> None:
    user = register(client, "client@example.com", PASSWORD)  # a ready account (create-user)
    tokens = api.log_in(client, "client@example.com", PASSWORD)
    assert client.get("/api/v1/users/me", headers=tokens.headers).json()["id"] == user["id"]

    renewed = api.refresh(client, tokens)
    assert renewed.access_token != tokens.access_token
    assert client.get("/api/v1/users/me", headers=renewed.headers).status_code == 200
    # Each refresh token works once: the helper must not hide the service's answer.
    with pytest.raises(api.ApiError, match=r"refresh POST /api/v1/auth/refresh: POST .* HTTP 401"):
        api.refresh(client, tokens)


def test_the_raw_requests_return_whatever_the_service_answers(client: TestClient) -> None:
    assert api.post_token(client, "nobody@example.com", PASSWORD).status_code == 401
    assert api.post_sign_up(client, "not-an-email", PASSWORD).status_code == 422


def test_a_refused_login_names_the_step_the_request_and_the_answer(client: TestClient) -> None:
    register(client, "wrong@example.com", PASSWORD)
    with pytest.raises(api.ApiError) as refused:
        api.log_in(client, "wrong@example.com", "not the password at all")
    message = str(refused.value)
    assert message.startswith("log in POST /api/v1/auth/token: POST http://testserver/api/v1/")
    assert "answered HTTP 401: {" in message


def test_an_answer_without_the_expected_field_is_reported_with_its_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"token": "x" * 600})

    truncated = r"expected JSON with 'access_token'.*\(6\d\d characters\)"
    with (
        httpx.Client(transport=httpx.MockTransport(handler), base_url="http://api") as client,
        pytest.raises(api.ApiError, match=truncated),
    ):
        api.log_in(client, "a@example.com", PASSWORD)


def test_the_bearer_header() -> None:
    assert api.bearer("abc") == {"Authorization": "Bearer abc"}
    assert api.Tokens("abc", None).headers == {"Authorization": "Bearer abc"}
