"""One answer for a deactivated account's tokens, on every path that takes one: 401
`invalid_token` (RFC 6750's error for a revoked token), the body of any ended login. The login
form instead answers a deactivated account exactly like a wrong password (no oracle, issue 13)."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from service.core.db import Database
from service.users.models import User
from tests.service.test_sessions import confirmation_token
from tests.utils.users import PASSWORD, LoggedIn

ENDED = {"code": "invalid_token", "detail": "this login has ended; log in again"}


def _answer(response: httpx.Response) -> tuple[int, dict[str, str]]:
    return response.status_code, {k: v for k, v in response.json().items() if k in ENDED}


def _only_flag_cleared(database: Database, user: LoggedIn) -> None:
    """Deactivated by the flag alone, token version untouched: the rule itself must refuse
    (an API deactivation raises the version too, which would hide a path that forgot it)."""
    with database.sessions() as session:
        session.execute(update(User).where(User.id == user.id).values(is_active=False))
        session.commit()


def test_an_access_token_of_a_deactivated_account_is_invalid_token(
    client: TestClient, user: LoggedIn, database: Database
) -> None:
    assert client.get("/api/v1/users/me", headers=user.headers).status_code == 200  # control
    _only_flag_cleared(database, user)
    for path in ("/api/v1/users/me", "/api/v1/items", "/api/v1/orders"):
        assert _answer(client.get(path, headers=user.headers)) == (401, ENDED)


def test_a_refresh_token_of_a_deactivated_account_is_invalid_token(
    client: TestClient, user: LoggedIn, database: Database
) -> None:
    _only_flag_cleared(database, user)
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert _answer(response) == (401, ENDED)


def test_an_email_confirmation_of_a_deactivated_account_is_invalid_token(
    client: TestClient, user: LoggedIn, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.users.email_change")
    changed = client.patch(
        "/api/v1/users/me",
        headers=user.headers,
        json={"email": "elsewhere@example.com", "current_password": PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    _only_flag_cleared(database, user)
    response = client.post(
        "/api/v1/users/email-confirmation", json={"token": confirmation_token(caplog)}
    )
    assert _answer(response) == (401, ENDED)


def test_deactivation_through_the_api_gives_the_same_answer_everywhere(
    client: TestClient, user: LoggedIn, superuser: LoggedIn
) -> None:
    # Deactivation raises the token version as well: the deactivated answer still wins.
    client.post(f"/api/v1/users/{user.id}/deactivate", headers=superuser.headers)
    assert _answer(client.get("/api/v1/users/me", headers=user.headers)) == (401, ENDED)
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert _answer(refreshed) == (401, ENDED)


def test_the_login_form_does_not_reveal_a_deactivated_account(
    client: TestClient, user: LoggedIn, database: Database
) -> None:
    _only_flag_cleared(database, user)
    right, wrong, nobody = (
        client.post("/api/v1/auth/token", data={"username": email, "password": password})
        for email, password in (
            (user.email, PASSWORD),
            (user.email, "not the password at all"),
            ("nobody-at-all@example.com", PASSWORD),
        )
    )
    assert right.status_code == wrong.status_code == nobody.status_code == 401
    assert right.json()["code"] == wrong.json()["code"] == nobody.json()["code"]
    assert right.json()["code"] == "bad_credentials"
