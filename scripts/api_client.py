"""Signing up, logging in and refreshing through the service's HTTP API, for every client that is
not the service itself: the deploy smoke test (scripts/deploy/smoke.py), the rehearsal's load
generator, the benchmarks and the tests' helpers (tests/utils/users.py). The routes, their forms
(the token route takes an OAuth2 password *form*, not JSON) and the bearer header live here once.

It sits in `scripts/` because that is the one place every caller may import: the deploy workflow
runs `scripts.deploy.*` from a checkout with the development requirements but must not depend on
development tooling (`tools/`), while `tools/` and `tests/` import `scripts/` freely. The service
never imports it (tests/delivery/test_product_boundary.py). Only httpx and the standard library.

Two layers: `post_*` send the request and return the response whatever it says (the load
generator records every answer, good or bad); `sign_up`, `log_in` and `refresh` expect success
and raise `ApiError`, naming the step, the request and what the service answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

API_PREFIX = "/api/v1"
USERS_PATH = f"{API_PREFIX}/users"
TOKEN_PATH = f"{API_PREFIX}/auth/token"
REFRESH_PATH = f"{API_PREFIX}/auth/refresh"

BODY_SHOWN = 500  # characters of a response body quoted in an error


class ApiError(Exception):
    """The service did not answer as expected; the message says which step, request and answer."""


def excerpt(response: httpx.Response) -> str:
    text = response.text
    return text if len(text) <= BODY_SHOWN else text[:BODY_SHOWN] + f"… ({len(text)} characters)"


def expect(response: httpx.Response, step: str, *statuses: int) -> httpx.Response:
    """The response if its status is one of `statuses` (any 2xx when none are given)."""
    ok = response.status_code in statuses if statuses else response.is_success
    if not ok:
        raise ApiError(
            f"{step}: {response.request.method} {response.request.url} answered "
            f"HTTP {response.status_code}: {excerpt(response)}"
        )
    return response


def field(response: httpx.Response, step: str, key: str) -> Any:
    """`key` of the response's JSON object."""
    try:
        return response.json()[key]
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(f"{step}: expected JSON with {key!r}, got: {excerpt(response)}") from exc


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


# --- the requests, whatever they answer ----------------------------------------------------------
def post_sign_up(client: httpx.Client, email: str, password: str, **profile: str) -> httpx.Response:
    return client.post(USERS_PATH, json={"email": email, "password": password, **profile})


def post_token(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post(TOKEN_PATH, data={"username": email, "password": password})


def post_refresh(client: httpx.Client, refresh_token: str) -> httpx.Response:
    return client.post(REFRESH_PATH, json={"refresh_token": refresh_token})


# --- the same, expected to succeed ---------------------------------------------------------------
def sign_up(client: httpx.Client, email: str, password: str, **profile: str) -> dict[str, Any]:
    """The sign-up's acceptance (202, the same whether or not the address was free). The account
    logs in only once its address is confirmed; automation that needs a ready account makes it
    with `python -m service create-user EMAIL --confirmed` instead."""
    step = f"sign up POST {USERS_PATH}"
    accepted = expect(post_sign_up(client, email, password, **profile), step)
    return dict(accepted.json())


def tokens_from(response: httpx.Response, step: str) -> Tokens:
    access_token = field(expect(response, step, 200), step, "access_token")
    return Tokens(access_token, response.json().get("refresh_token"))


def log_in(client: httpx.Client, email: str, password: str) -> Tokens:
    return tokens_from(post_token(client, email, password), f"log in POST {TOKEN_PATH}")


def refresh(client: httpx.Client, tokens: Tokens) -> Tokens:
    """A new pair for the refresh token (each refresh token works once)."""
    if tokens.refresh_token is None:
        raise ApiError("refresh: the login answered no refresh token")
    step = f"refresh POST {REFRESH_PATH}"
    return tokens_from(post_refresh(client, tokens.refresh_token), step)
