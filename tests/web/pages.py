"""What a person does on the page, written with the names they see (labels, button names).

Finding fields by their label and buttons by their accessible name is also the accessibility
check: a field without a visible label or a button without a name cannot be found at all.
"""

from __future__ import annotations

import uuid

from playwright.sync_api import Locator, Page, expect

PASSWORD = "correct horse battery staple"


def unique_email(prefix: str = "shopper") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def login_form(page: Page) -> Locator:
    return page.get_by_role("form", name="Log in")


def signup_form(page: Page) -> Locator:
    return page.get_by_role("form", name="New here? Create an account")


def items_heading(page: Page) -> Locator:
    return page.get_by_role("heading", name="Your items", level=1)


def alert(page: Page) -> Locator:
    return page.get_by_role("alert")


def notice(page: Page) -> Locator:
    return page.get_by_role("status")


def item_row(page: Page, title: str) -> Locator:
    return (
        page.get_by_role("list", name="Your items")
        .get_by_role("listitem")
        .filter(has=page.get_by_role("heading", name=title, exact=True))
    )


def order_card(page: Page, order_id: int | str) -> Locator:
    return (
        page.get_by_role("list", name="Your orders")
        .get_by_role("listitem")
        .filter(has=page.get_by_role("heading", name=f"Order {order_id}", exact=True))
    )


def sign_up(page: Page, email: str, password: str = PASSWORD, full_name: str = "") -> None:
    form = signup_form(page)
    form.get_by_label("Full name").fill(full_name)
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign up").click()


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    form = login_form(page)
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(login_form(page)).to_be_visible()


def add_item(page: Page, title: str, price: str, description: str = "") -> None:
    form = page.get_by_role("form", name="Add an item")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Description").fill(description)
    form.get_by_label("Price").fill(price)
    form.get_by_role("button", name="Add item").click()


def signed_up_user(page: Page, base_url: str, full_name: str = "") -> str:
    """Open the page, create an account (which logs in) and wait for the items screen."""
    email = unique_email()
    page.goto(base_url)
    sign_up(page, email, full_name=full_name)
    expect(items_heading(page)).to_be_visible()
    return email


def horizontal_overflow(page: Page) -> int:
    """Pixels the page is wider than the screen: 0 means no sideways scrolling on a phone."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )
