"""Tokens in the page: a refused access token is refreshed once and the request retried;
a login that cannot be refreshed any more ends on the login form with a message.

The server's answers are real. The only thing the tests change is the access token on chosen
requests (as if it had expired: waiting out its 15 minutes is not an option in a test).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.utils.users import create_ready_user
from tests.web.pages import (
    PASSWORD,
    add_item,
    alert,
    item_row,
    items_heading,
    log_in,
    log_out,
    login_form,
    unique_email,
)

pytestmark = pytest.mark.browser


def expire_access_token_once(page: Page, url_glob: str) -> Callable[[], int]:
    """The next request to `url_glob` carries an invalid access token; returns how many did."""
    tampered: list[str] = []

    def handler(route: Route) -> None:
        if tampered:
            route.continue_()
            return
        tampered.append(route.request.url)
        route.continue_(headers={**route.request.headers, "authorization": "Bearer expired"})

    page.route(url_glob, handler)
    return lambda: len(tampered)


def count_requests(page: Page, path: str) -> list[Request]:
    seen: list[Request] = []
    page.on("request", lambda request: seen.append(request) if request.url.endswith(path) else None)
    return seen


def test_refused_tokens_are_refreshed_once_even_for_parallel_requests(
    desktop: Page, web_url: str, live_database_url: str
) -> None:
    page = desktop
    email = unique_email()
    create_ready_user(live_database_url, email, PASSWORD)
    page.goto(web_url)
    log_in(page, email)
    expect(items_heading(page)).to_be_visible()
    add_item(page, "Lamp", "30")
    expect(item_row(page, "Lamp")).to_be_visible()
    log_out(page)

    # Logging in loads items and orders in parallel: both get a 401 at the same moment. A second
    # refresh would reuse the (single-use) refresh token and the server would end the login.
    items_tampered = expire_access_token_once(page, "**/api/v1/items?*")
    orders_tampered = expire_access_token_once(page, "**/api/v1/orders?*")
    refreshes = count_requests(page, "/api/v1/auth/refresh")
    log_in(page, email)

    expect(items_heading(page)).to_be_visible()
    expect(item_row(page, "Lamp")).to_contain_text("30.00")
    expect(page.get_by_text("No orders yet.")).to_be_visible()
    assert (items_tampered(), orders_tampered()) == (1, 1)
    assert len(refreshes) == 1
    assert refreshes[0].response().status == 200  # type: ignore[union-attr]

    # A write is retried too, exactly once: one item, not two.
    expire_access_token_once(page, "**/api/v1/items")
    add_item(page, "Desk", "120")
    expect(item_row(page, "Desk")).to_have_count(1)
    expect(page.get_by_text("2 items.")).to_be_visible()
    assert len(refreshes) == 2


def test_session_that_cannot_be_refreshed_returns_to_login(
    desktop: Page, web_url: str, live_database_url: str
) -> None:
    page = desktop
    email = unique_email()
    page.goto(web_url)
    create_ready_user(live_database_url, email, PASSWORD)
    with page.expect_response("**/api/v1/auth/token") as login_response:
        log_in(page, email)
    expect(items_heading(page)).to_be_visible()

    # Someone else spends the page's refresh token: the page's copy is now a reused token,
    # and the server answers its refresh with 401 and revokes the whole login.
    stolen = login_response.value.json()["refresh_token"]
    assert httpx.post(f"{web_url}/api/v1/auth/refresh", json={"refresh_token": stolen}).is_success

    expire_access_token_once(page, "**/api/v1/items")
    add_item(page, "Lamp", "30")

    expect(alert(page)).to_have_text("Your session has expired. Please log in again.")
    expect(login_form(page).get_by_label("Email")).to_be_focused()
    expect(items_heading(page)).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()

    log_in(page, email, PASSWORD)
    expect(items_heading(page)).to_be_visible()
    expect(page.get_by_text("No items yet")).to_be_visible()  # the refused write never happened
