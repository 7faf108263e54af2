"""Creating users and logging them in through the API, the way a client would (an in-process
TestClient or an httpx.Client against a running server: the former is the latter)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import httpx

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
        return {"Authorization": f"Bearer {self.access_token}"}


def register(client: httpx.Client, email: str | None = None, password: str = PASSWORD) -> dict:
    email = email or unique_email()
    response = client.post("/api/v1/users", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> dict:
    response = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def register_and_login(client: httpx.Client, email: str | None = None) -> LoggedIn:
    user = register(client, email)
    tokens = login(client, user["email"])
    return LoggedIn(
        id=user["id"],
        email=user["email"],
        password=PASSWORD,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )
