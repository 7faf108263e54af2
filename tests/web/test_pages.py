"""Focused checks of the page: labels and names, error messages, a failed order, both layouts."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.utils.users import create_ready_user
from tests.web.pages import (
    PASSWORD,
    add_item,
    alert,
    horizontal_overflow,
    item_row,
    items_heading,
    log_in,
    notice,
    order_card,
    ready_account,
    sign_up,
    signed_up_user,
    signup_form,
    unique_email,
)

pytestmark = pytest.mark.browser

# Every form control and button on the page that has no accessible name, or (form controls)
# no visible label: a <label> for it, or a visible column header for the quantities.
UNNAMED_CONTROLS = """() => {
  const visible = (el) => !!el && el.getClientRects().length > 0;
  const problems = [];
  for (const el of document.querySelectorAll("input, textarea, select")) {
    if (!visible(el)) continue;
    const labelled = [...el.labels].some(visible);
    const column = el.closest("td") && el.closest("table").querySelectorAll("thead th")[
      el.closest("td").cellIndex];
    if (!labelled && !(visible(column) && el.getAttribute("aria-label")?.includes(
        column.textContent.trim()))) problems.push(el.outerHTML);
  }
  for (const el of document.querySelectorAll("button")) {
    if (visible(el) && !(el.getAttribute("aria-label") || el.textContent).trim())
      problems.push(el.outerHTML);
  }
  return problems;
}"""


def test_every_field_has_a_visible_label_and_every_button_a_name(
    phone: Page, web_url: str, live_database_url: str
) -> None:
    page = phone
    page.goto(web_url)
    expect(signup_form(page)).to_be_visible()
    assert page.evaluate(UNNAMED_CONTROLS) == []

    signed_up_user(page, web_url, live_database_url)
    add_item(page, "Lamp", "30")
    page.get_by_role("button", name="Edit Lamp").click()  # the inline editor's fields too
    expect(page.get_by_role("form", name="Edit Lamp")).to_be_visible()
    assert page.evaluate(UNNAMED_CONTROLS) == []
    assert horizontal_overflow(page) == 0


def test_sign_up_with_a_taken_email_answers_like_any_other(
    desktop: Page, web_url: str, live_database_url: str
) -> None:
    # Issue 23: the page used to say "A user with this e-mail already exists" at the field,
    # telling anyone which addresses have accounts. Now a taken and a free address read the same.
    page = desktop
    taken = ready_account(live_database_url)
    page.goto(web_url)
    sign_up(page, taken.upper())
    expect(notice(page)).to_contain_text("Check your e-mail")
    said_for_taken = notice(page).inner_text()
    email_field = signup_form(page).get_by_label("Email")
    expect(email_field).not_to_have_attribute("aria-invalid", "true")
    sign_up(page, unique_email())
    expect(notice(page)).to_have_text(said_for_taken)
    expect(alert(page)).to_have_count(0)


def test_order_over_the_limit_fails_with_its_reason(
    desktop: Page, web_url: str, live_database_url: str
) -> None:
    page = desktop
    signed_up_user(page, web_url, live_database_url)

    page.get_by_role("button", name="Place order").click()
    expect(alert(page)).to_have_text("Add an item first, then choose how many you want.")

    add_item(page, "Yacht", "9999.99")
    expect(item_row(page, "Yacht")).to_contain_text("9,999.99")
    page.get_by_role("button", name="Place order").click()
    expect(alert(page)).to_have_text("Choose a quantity of at least one item.")
    expect(page.get_by_label("Quantity of Yacht")).to_be_focused()

    page.get_by_label("Quantity of Yacht").fill("2")
    expect(page.get_by_role("form", name="Place an order")).to_contain_text("19,999.98")
    page.get_by_role("button", name="Place order").click()
    expect(alert(page)).to_contain_text(re.compile(r"Order \d+ failed: order total 19999.98"))
    order_id = re.search(r"Order (\d+)", alert(page).inner_text()).group(1)  # type: ignore[union-attr]
    card = order_card(page, order_id)
    expect(card.locator(".order-status")).to_have_text("failed")
    expect(card).to_contain_text("exceeds the limit")


def test_desktop_layout_puts_items_and_orders_side_by_side(
    desktop: Page, web_url: str, live_database_url: str
) -> None:
    page = desktop
    signed_up_user(page, web_url, live_database_url)
    items_box = items_heading(page).bounding_box()
    orders_box = page.get_by_role("heading", name="Place an order").bounding_box()
    assert items_box is not None
    assert orders_box is not None
    assert orders_box["x"] > items_box["x"] + items_box["width"]
    assert horizontal_overflow(page) == 0


def test_long_item_lists_load_a_page_at_a_time(
    desktop: Page, web_url: str, live_database_url: str
) -> None:
    page = desktop
    email = unique_email()
    page.goto(web_url)
    create_ready_user(live_database_url, email, PASSWORD)
    with page.expect_response("**/api/v1/auth/token") as login_response:
        log_in(page, email)
    expect(items_heading(page)).to_be_visible()
    headers = {"Authorization": f"Bearer {login_response.value.json()['access_token']}"}
    with httpx.Client(base_url=f"{web_url}/api/v1", headers=headers) as api:
        for number in range(1, 102):  # one more than the service's largest page
            api.post("/items", json={"title": f"Part {number}", "price": "1"}).raise_for_status()
    page.get_by_role("button", name="Log out").click()
    log_in(page, email)

    expect(page.get_by_text("101 items, 100 shown.")).to_be_visible()
    expect(item_row(page, "Part 100")).to_be_visible()
    expect(item_row(page, "Part 101")).to_have_count(0)
    page.get_by_role("button", name="Show more items").click()
    expect(page.get_by_role("button", name="Edit Part 101")).to_be_focused()
    expect(page.get_by_text("101 items.")).to_be_visible()
    expect(page.get_by_role("button", name="Show more items")).to_be_hidden()
    expect(page.get_by_label("Quantity of Part 101")).to_be_visible()
