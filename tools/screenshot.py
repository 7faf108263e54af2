"""Make docs/screenshot.png, the README's picture of the page: a desktop and a phone view side by
side, of a real `python -m tools.local dev` with a shopper's items and a completed order.

    .venv/bin/python -m tools.screenshot [--output docs/screenshot.png]

It drives the page with the same steps as the browser tests, on its own free port and temporary
database, so it never touches `make dev`'s data.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.web import chromium
from tests.web.pages import (
    PASSWORD,
    add_item,
    item_row,
    items_heading,
    log_in,
    notice,
    order_card,
    unique_email,
)
from tools.local.accounts import create_ready_account
from tools.local.processes import free_port, start_python, terminate, wait_until_ready
from tools.paths import REPO_ROOT

ITEMS = [
    ("Espresso beans", "14.50", "Single origin, medium roast, 1 kg"),
    ("Ceramic mug", "9", "Holds 350 ml"),
    ("Milk frother", "39.90", ""),
]

# Two captures on one canvas; plain HTML is the simplest image editor a browser has.
CANVAS = """<!doctype html><html><head><style>
  body {{ margin: 0; background: #e8ecf1; font-family: system-ui, sans-serif; }}
  #canvas {{ display: inline-flex; gap: 40px; align-items: flex-start; padding: 32px; }}
  img {{ display: block; border: 1px solid #c5ccd4; box-shadow: 0 8px 24px rgb(0 0 0 / 0.12); }}
  .phone {{ width: 390px; border-radius: 28px; border: 10px solid #1b1f24; }}
</style></head><body><div id="canvas">
  <img alt="" src="data:image/png;base64,{desktop}" width="1280">
  <img alt="" class="phone" src="data:image/png;base64,{phone}">
</div></body></html>"""


def fill_with_a_shopper(page: Page, base_url: str, database_url: str) -> str:
    # A ready account, made with the operator command (a sign-up waits for its confirmation).
    email = unique_email("ada")
    create_ready_account(database_url, email, PASSWORD, full_name="Ada Lovelace")
    page.goto(base_url)
    log_in(page, email, PASSWORD)
    expect(items_heading(page)).to_be_visible()
    for title, price, description in ITEMS:
        add_item(page, title, price, description)
        expect(item_row(page, title)).to_be_visible()
    for quantities in ({"Espresso beans": 2, "Ceramic mug": 1}, {"Milk frother": 1}):
        for title, quantity in quantities.items():
            page.get_by_label(f"Quantity of {title}").fill(str(quantity))
        page.get_by_role("button", name="Place order").click()
        expect(notice(page)).to_contain_text(re.compile(r"Order \d+ placed"))
        order_id = re.search(r"Order (\d+)", notice(page).inner_text()).group(1)  # type: ignore[union-attr]
        expect(order_card(page, order_id).locator(".order-status")).to_have_text(
            "completed", timeout=30_000
        )
    page.get_by_label("Quantity of Ceramic mug").fill("4")  # a total being worked out
    return email


def capture(browser: Browser, base_url: str, email: str, options: dict[str, object]) -> bytes:
    context = browser.new_context(color_scheme="light", **options)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(base_url)
    log_in(page, email, PASSWORD)
    expect(page.get_by_text("Milk frother").first).to_be_visible()
    page.get_by_label("Quantity of Ceramic mug").fill("4")
    page.evaluate("document.activeElement.blur()")  # no focus ring in the picture
    if options.get("is_mobile"):  # a phone shows one column: show the order part of it
        page.get_by_role("form", name="Place an order").evaluate("form => form.scrollIntoView()")
    image = page.screenshot()
    context.close()
    return image


def make_screenshot(output: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="shipyard-screenshot-") as workdir:
        port = free_port()
        log_path = Path(workdir) / "dev.log"
        database_url = f"sqlite:///{Path(workdir) / 'dev.db'}"
        process = start_python(
            ["-m", "tools.local", "dev"],
            env={
                "PORT": str(port),
                "DATABASE_URL": database_url,
                "DEV_STATE_DIR": workdir,
            },
            log_path=log_path,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(f"{base_url}/readyz", process, log_path, timeout=90)
            with sync_playwright() as playwright:
                browser = chromium.launch(playwright)
                setup = browser.new_context()
                email = fill_with_a_shopper(setup.new_page(), base_url, database_url)
                setup.close()
                desktop = capture(browser, base_url, email, chromium.DESKTOP)
                phone = capture(browser, base_url, email, chromium.PHONE)
                canvas = browser.new_page()
                canvas.set_content(
                    CANVAS.format(
                        desktop=base64.b64encode(desktop).decode(),
                        phone=base64.b64encode(phone).decode(),
                    )
                )
                output.parent.mkdir(parents=True, exist_ok=True)
                canvas.locator("#canvas").screenshot(path=output)
                browser.close()
        finally:
            terminate(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "screenshot.png")
    args = parser.parse_args()
    if chromium.chromium_path() is None:
        print(f"error: {chromium.INSTALL_HINT}", file=sys.stderr)
        return 1
    make_screenshot(args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
