"""Creating users and logging them in through the API, the way a client would (an in-process
TestClient or an httpx.Client against a running server: the former is the latter), with the same
calls every other client uses (scripts/api_client.py)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import httpx

from scripts import api_client as api

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}@example.com"


@dataclass
class LoggedIn:
    id: int
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return api.bearer(self.access_token)


def register(client: httpx.Client, email: str | None = None, password: str = PASSWORD) -> dict:
    return api.sign_up(client, email or unique_email(), password)


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> dict:
    """The token route's whole answer (tests read `expires_in` and `token_type` too)."""
    return dict(api.expect(api.post_token(client, email, password), "log in", 200).json())


def register_and_login(client: httpx.Client, email: str | None = None) -> LoggedIn:
    user = register(client, email)
    tokens = api.log_in(client, user["email"], PASSWORD)
    assert tokens.refresh_token is not None
    return LoggedIn(
        id=user["id"],
        email=user["email"],
        password=PASSWORD,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
    )
