"""The system's Chromium (Debian's `chromium` package) under Playwright: no browser download."""

from __future__ import annotations

import os
import shutil
from typing import Any

from playwright.sync_api import Browser, Playwright

# Containers run as root without user namespaces (no sandbox possible) and without a GPU;
# background networking would make the browser phone home, which these machines cannot.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

INSTALL_HINT = "chromium is not installed: run `bash scripts/install-system-deps.sh` once"

# Viewports the page must work in. The phone is the narrow one the layout is designed from.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}


def chromium_path() -> str | None:
    # Debian's package (this machine, CI here), or Google Chrome on GitHub's Ubuntu runners,
    # where `apt-get install chromium` is only a stub for the snap.
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


def browser_required() -> bool:
    """CI sets REQUIRE_BROWSER=1: a missing browser fails there instead of skipping quietly."""
    return os.environ.get("REQUIRE_BROWSER") == "1"


def launch(playwright: Playwright) -> Browser:
    executable = chromium_path()
    if executable is None:
        raise RuntimeError(INSTALL_HINT)
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
