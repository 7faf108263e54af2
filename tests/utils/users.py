"""Ready accounts for tests, and logging them in through the API the way a client would (an
in-process TestClient or an httpx.Client against a running server: the former is the latter),
with the same calls every other client uses (scripts/api_client.py).

A sign-up over HTTP must confirm its address before it can log in (issue 23), so a test that needs
a ready account gets it the way an operator does: the function behind
`python -m service create-user EMAIL --confirmed`, run in this process on the server's database
(the TestClient's own, or `database_url` for a server in another process). Never through a back
door in the HTTP API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import httpx
from fastapi.testclient import TestClient

from scripts import api_client as api
from service.core.db import Database
from service.users.schemas import UserCreate, UserPublic
from service.users.service import create_user

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


def create_ready_user(
    database: Database | str,
    email: str | None = None,
    password: str = PASSWORD,
    *,
    is_superuser: bool = False,
    full_name: str | None = None,
) -> dict:
    """A confirmed account, as `python -m service create-user EMAIL --confirmed` makes it; the
    API's public view of it."""
    owned = isinstance(database, str)
    db = Database(database, pool_size=1, max_overflow=0) if isinstance(database, str) else database
    try:
        data = UserCreate(email=email or unique_email(), password=password, full_name=full_name)
        with db.sessions() as session:
            user = create_user(session, data=data, is_superuser=is_superuser, confirmed=True)
            return UserPublic.model_validate(user).model_dump(mode="json")
    finally:
        if owned:
            db.dispose()


def _database_of(
    client: httpx.Client, database_url: str | None, database: Database | None = None
) -> Database | str:
    if database is not None:  # the app's own Database, when the client wraps the app
        return database
    if database_url is not None:
        return database_url
    if isinstance(client, TestClient):
        app_database: Database = client.app.state.db  # type: ignore[attr-defined]
        return app_database
    raise TypeError("a server in another process: pass database_url (its DATABASE_URL)")


def register(
    client: httpx.Client,
    email: str | None = None,
    password: str = PASSWORD,
    *,
    database_url: str | None = None,
    database: Database | None = None,
) -> dict:
    """A ready account on the database behind `client` (see the module's docstring)."""
    return create_ready_user(_database_of(client, database_url, database), email, password)


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> dict:
    """The token route's whole answer (tests read `expires_in` and `token_type` too)."""
    return dict(api.expect(api.post_token(client, email, password), "log in", 200).json())


def register_and_login(
    client: httpx.Client,
    email: str | None = None,
    *,
    database_url: str | None = None,
    database: Database | None = None,
) -> LoggedIn:
    user = register(client, email, database_url=database_url, database=database)
    tokens = api.log_in(client, user["email"], PASSWORD)
    assert tokens.refresh_token is not None
    return LoggedIn(
        id=user["id"],
        email=user["email"],
        password=PASSWORD,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
    )
