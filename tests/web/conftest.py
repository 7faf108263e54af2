"""Browser fixtures: one headless Chromium per session, a fresh context per test, and a
screenshot in test-artifacts/ when a test fails (CI uploads that folder)."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.utils.dev_system import DevSystem
from tests.web import chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# The machine is shared and noisy; a real regression still fails, just later.
expect.set_options(timeout=15_000)

_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if chromium.chromium_path() is None:
        if chromium.browser_required():
            pytest.fail(f"{chromium.INSTALL_HINT} (REQUIRE_BROWSER=1 makes this an error)")
        pytest.skip(chromium.INSTALL_HINT)
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_database_url(live_dev_system: DevSystem) -> str:
    """`make dev`'s database: where tests make ready accounts (the operator's way)."""
    return live_dev_system.database_url


@pytest.fixture(scope="session")
def web_url(live_system: str) -> str:
    """`make dev`'s base URL, once it is known to serve web/ at / (same origin as the API)."""
    response = httpx.get(f"{live_system}/", timeout=10)
    problem = (
        f"`python -m tools.local dev` does not serve web/index.html at / "
        f"(got {response.status_code}): "
        "it must set WEB_ROOT to the repository's web/ folder"
    )
    assert response.status_code == 200, problem
    assert 'src="app.js"' in response.text, problem
    return live_system


def _new_page(
    browser: Browser, request: pytest.FixtureRequest, options: dict[str, object]
) -> Iterator[Page]:
    context = browser.new_context(**options)  # type: ignore[arg-type]
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on(
        "console",
        lambda message: script_errors.append(message.text) if message.type == "error" else None,
    )
    try:
        yield page
    finally:
        reports = request.node.stash.get(_reports, {})
        if any(report.failed for report in reports.values()):
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
            page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
        context.close()
    # Expected failures (401s, 422s) are handled by the page and logged by Chromium as failed
    # resource loads; an exception or an error written by the page's own code is a bug.
    script_errors = [e for e in script_errors if "Failed to load resource" not in e]
    assert not script_errors, f"the page reported errors: {script_errors}"


@pytest.fixture
def phone(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a phone-sized viewport (390 × 844, touch)."""
    yield from _new_page(browser, request, chromium.PHONE)


@pytest.fixture
def desktop(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a desktop viewport (1280 × 800)."""
    yield from _new_page(browser, request, chromium.DESKTOP)
