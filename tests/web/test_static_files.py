"""The contract of web/ with whoever serves it (CloudFront from S3, `make dev`), checked without
a browser: index.html is the entry point, every file is reachable from it and every reference
resolves, nothing inline breaks the page's Content-Security-Policy, and the page only talks to
its own origin's /api/v1."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
# The platform maps these to content types when it uploads; a new kind of file needs one there.
KNOWN_SUFFIXES = {".html", ".css", ".js"}
MODULE_IMPORT = re.compile(r"""^\s*import\s[^;]*?from\s+["']([^"']+)["']""", re.MULTILINE)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline_scripts: list[str] = []
        self.inline_styles: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in values
        if tag == "style":
            self.inline_styles.append("<style>")
        if "style" in values:
            self.inline_styles.append(f"<{tag} style=…>")
        for name in ("src", "href"):
            value = values.get(name)
            if value and not value.startswith(("#", "data:")):
                self.references.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data.strip()[:60])


def _parsed_index() -> _Page:
    page = _Page()
    page.feed((WEB / "index.html").read_text())
    return page


def _reachable_files() -> set[Path]:
    """index.html and everything it loads, following ES module imports."""
    seen = {WEB / "index.html"}
    todo = [WEB / reference for reference in _parsed_index().references]
    while todo:
        path = todo.pop().resolve()
        assert path.is_file(), f"{path.relative_to(WEB)} is referenced but does not exist"
        if path in seen:
            continue
        seen.add(path)
        if path.suffix == ".js":
            todo += [path.parent / spec for spec in MODULE_IMPORT.findall(path.read_text())]
    return seen


def test_every_file_is_reachable_from_index_html() -> None:
    files = {path.resolve() for path in WEB.rglob("*") if path.is_file()}
    assert files == _reachable_files(), "files in web/ that index.html never loads get uploaded"


def test_only_file_types_the_platform_knows() -> None:
    suffixes = {path.suffix for path in WEB.rglob("*") if path.is_file()}
    assert suffixes <= KNOWN_SUFFIXES


def test_references_are_relative_so_the_page_works_under_any_origin() -> None:
    for reference in _parsed_index().references:
        assert not re.match(r"^([a-z]+:)?//", reference), reference
        assert not reference.startswith("/"), reference


def test_no_inline_code_that_the_content_security_policy_would_block() -> None:
    page = _parsed_index()
    assert page.inline_scripts == []
    assert page.inline_styles == []
    for script in WEB.glob("*.js"):
        assert ".style." not in script.read_text(), f"{script.name} sets inline styles"


def test_the_page_only_calls_its_own_origin_api() -> None:
    api = (WEB / "api.js").read_text()
    assert 'const API = "/api/v1";' in api
    for script in WEB.glob("*.js"):
        source = script.read_text()
        assert "http://" not in source
        assert "https://" not in source
        calls = re.findall(r"\bfetch\(", source)
        assert script.name == "api.js" or not calls, f"{script.name} calls fetch outside api.js"
