"""What a person does on the page, written with the names they see (labels, button names).

Finding fields by their label and buttons by their accessible name is also the accessibility
check: a field without a visible label or a button without a name cannot be found at all.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.utils.users import create_ready_user

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


def ready_account(database_url: str, full_name: str | None = None) -> str:
    """A confirmed account, made as `python -m service create-user --confirmed` makes it (a
    sign-up on the page must confirm its address before it can log in)."""
    email = unique_email()
    create_ready_user(database_url, email, PASSWORD, full_name=full_name)
    return email


def signed_up_user(page: Page, base_url: str, database_url: str, full_name: str = "") -> str:
    """A ready account, logged in on the page, on the items screen."""
    email = ready_account(database_url, full_name or None)
    page.goto(base_url)
    log_in(page, email)
    expect(items_heading(page)).to_be_visible()
    return email


def last_signup_token(log_path: Path) -> str:
    """The token of the last sign-up confirmation `make dev` logged (in `local` the service logs
    what it would e-mail)."""
    tokens = []
    for line in log_path.read_text().splitlines():
        if "sign-up confirmation token" not in line:
            continue
        try:
            tokens.append(str(json.loads(line)["token"]))
        except (ValueError, KeyError):
            found = re.search(r"token=(\S+)", line)  # the text log format
            if found:
                tokens.append(found.group(1))
    assert tokens, f"no sign-up confirmation token in {log_path}"
    return tokens[-1]


def horizontal_overflow(page: Page) -> int:
    """Pixels the page is wider than the screen: 0 means no sideways scrolling on a phone."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )
