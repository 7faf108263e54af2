"""The whole journey of the issue on a phone-sized screen, against `make dev`:
sign up, add/edit/delete items, order and watch it complete without a reload, log out, log in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.utils.dev_system import DevSystem
from tests.web.pages import (
    PASSWORD,
    add_item,
    alert,
    horizontal_overflow,
    item_row,
    items_heading,
    last_signup_token,
    log_in,
    log_out,
    login_form,
    notice,
    order_card,
    sign_up,
    signup_form,
    unique_email,
)

pytestmark = pytest.mark.browser


def test_shopper_journey_on_a_phone(phone: Page, web_url: str, live_dev_system: DevSystem) -> None:
    page = phone
    navigations: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
    )

    page.goto(web_url)
    expect(login_form(page)).to_be_visible()
    assert horizontal_overflow(page) == 0

    # Sign up: the service's validation message lands next to the field it is about.
    email = unique_email()
    sign_up(page, email, password="too short", full_name="Ada Lovelace")
    password_field = signup_form(page).get_by_label("Password")
    expect(password_field).to_have_attribute("aria-invalid", "true")
    expect(password_field).to_have_accessible_description(re.compile("at least 12 characters"))
    expect(password_field).to_be_focused()
    expect(alert(page)).to_contain_text("correct the highlighted field")

    sign_up(page, email, full_name="Ada Lovelace")
    expect(notice(page)).to_contain_text("Check your e-mail: we sent a link to confirm the address")
    # Not before the address is confirmed (issue 23); the page says what to do.
    log_in(page, email, PASSWORD)
    expect(alert(page)).to_contain_text("Confirm your e-mail address first")
    # The link in the e-mail (`make dev` logs its token) opens the page and confirms the address.
    page.goto(f"{web_url}/?confirm={last_signup_token(live_dev_system.log_path)}")
    expect(notice(page)).to_have_text("Your e-mail address is confirmed. You can log in now.")
    assert "confirm=" not in page.url  # a reload must not send the used token again
    log_in(page, email, PASSWORD)
    expect(items_heading(page)).to_be_focused()
    expect(page.get_by_text("Signed in as Ada Lovelace")).to_be_visible()
    expect(page.get_by_text("No items yet")).to_be_visible()
    navigations.clear()  # from here on, everything happens without a reload

    # Items: a bad price is refused with the reason; good ones appear, edit and delete in place.
    add_item(page, "Coffee beans", "a lot")
    price_field = page.get_by_role("form", name="Add an item").get_by_label("Price")
    expect(price_field).to_have_attribute("aria-invalid", "true")
    expect(price_field).to_have_accessible_description(re.compile("Price must be a number"))

    add_item(page, "Coffee beans", "12.5", description="Whole, medium roast")
    expect(item_row(page, "Coffee beans")).to_contain_text("12.50")
    expect(item_row(page, "Coffee beans")).to_contain_text("Whole, medium roast")
    expect(price_field).not_to_have_attribute("aria-invalid", "true")
    expect(notice(page)).to_contain_text("Added Coffee beans")
    add_item(page, "Tea", "4")
    expect(item_row(page, "Tea")).to_contain_text("4.00")
    add_item(page, "Mug", "9.99")
    expect(item_row(page, "Mug")).to_contain_text("9.99")

    page.get_by_role("button", name="Edit Tea").click()
    editor = page.get_by_role("form", name="Edit Tea")
    expect(editor.get_by_label("Title")).to_be_focused()
    editor.get_by_label("Title").fill("Green tea")
    editor.get_by_label("Price").fill("4.25")
    editor.get_by_role("button", name="Save changes").click()
    expect(item_row(page, "Green tea")).to_contain_text("4.25")
    expect(item_row(page, "Tea")).to_have_count(0)
    expect(page.get_by_role("button", name="Edit Green tea")).to_be_focused()

    page.get_by_role("button", name="Delete Mug").click()
    expect(item_row(page, "Mug")).to_have_count(0)
    expect(notice(page)).to_contain_text("Deleted Mug")
    expect(page.get_by_text("2 items.")).to_be_visible()
    assert horizontal_overflow(page) == 0

    # Order two lines and watch the status reach `completed` on the same page.
    page.get_by_label("Quantity of Coffee beans").fill("2")
    page.get_by_label("Quantity of Green tea").fill("1")
    expect(page.get_by_role("form", name="Place an order")).to_contain_text("29.25")
    page.get_by_role("button", name="Place order").click()
    expect(notice(page)).to_contain_text(re.compile(r"Order \d+ placed"))
    order_id = re.search(r"Order (\d+)", notice(page).inner_text()).group(1)  # type: ignore[union-attr]
    card = order_card(page, order_id)
    expect(card).to_contain_text("2 × Coffee beans at 12.50 = 25.00")
    expect(card).to_contain_text("29.25")
    expect(card.locator(".order-status")).to_have_text("completed", timeout=30_000)
    expect(card.get_by_role("list", name="Status history")).to_contain_text("pending")
    expect(notice(page)).to_contain_text(f"Order {order_id} is completed")
    expect(page.get_by_label("Quantity of Coffee beans")).to_have_value("0")
    assert navigations == [], f"the page reloaded or navigated: {navigations}"
    assert horizontal_overflow(page) == 0

    # Log out, fail a login with the wrong password, then log in and find everything again.
    log_out(page)
    expect(notice(page)).to_contain_text("You are logged out")
    expect(login_form(page).get_by_label("Email")).to_be_focused()
    log_in(page, email, "not the right password")
    expect(alert(page)).to_have_text("Incorrect e-mail or password.")
    expect(login_form(page).get_by_label("Password")).to_have_value("")
    expect(login_form(page).get_by_label("Password")).to_be_focused()

    log_in(page, email, PASSWORD)
    expect(items_heading(page)).to_be_visible()
    expect(item_row(page, "Coffee beans")).to_be_visible()
    expect(order_card(page, order_id).locator(".order-status")).to_have_text("completed")
