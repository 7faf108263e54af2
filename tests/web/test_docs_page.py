"""/docs under the API's security headers: the page's policy lets FastAPI's Swagger UI start.

These machines cannot reach jsDelivr, so the bundle is a stand-in served at its real address: it
does what matters to the policy (runs from cdn.jsdelivr.net, is started by FastAPI's inline script,
fetches /openapi.json from the page's origin). A blocked load, script or fetch is a CSP violation,
which Chromium reports as a console error; the page fixture fails the test on any. (Checked once
by hand with the real swagger-ui-dist 5.35.0 bundle in place of the stand-in: it renders every
operation without a console error.)
"""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

STAND_IN_BUNDLE = """
window.SwaggerUIBundle = function (config) {
  fetch(config.url)
    .then((answer) => answer.json())
    .then((spec) => { document.querySelector(config.dom_id).textContent = spec.info.title; });
};
window.SwaggerUIBundle.presets = { apis: {} };
window.SwaggerUIBundle.SwaggerUIStandalonePreset = {};
"""


def _jsdelivr(route: Route) -> None:
    if route.request.url.endswith(".js"):
        route.fulfill(body=STAND_IN_BUNDLE, content_type="application/javascript")
    else:
        route.fulfill(body="", content_type="text/css")


def test_docs_start_under_their_content_security_policy(desktop: Page, web_url: str) -> None:
    violations: list[str] = []
    desktop.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    desktop.route("https://cdn.jsdelivr.net/**", _jsdelivr)
    desktop.route("https://fastapi.tiangolo.com/**", lambda route: route.fulfill(status=204))

    answer = desktop.goto(f"{web_url}/docs")

    assert answer is not None
    assert "cdn.jsdelivr.net" in answer.headers["content-security-policy"]
    expect(desktop.locator("#swagger-ui")).to_have_text("shipyard")
    assert violations == []


def test_the_web_page_may_not_be_framed(desktop: Page, web_url: str) -> None:
    answer = desktop.goto(web_url)
    assert answer is not None
    assert answer.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert answer.headers["x-frame-options"] == "DENY"
