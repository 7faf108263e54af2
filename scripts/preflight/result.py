"""One check's outcome and how the run prints it: a line per check, the fix under each failure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "FAIL", "skip"]


@dataclass(frozen=True)
class Result:
    """`detail` says what was found; `fix` (failures only) says what to do about it."""

    check: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def ok(check: str, detail: str) -> Result:
    return Result(check, "ok", detail)


def fail(check: str, detail: str, fix: str) -> Result:
    return Result(check, "FAIL", detail, fix)


def skip(check: str, detail: str) -> Result:
    return Result(check, "skip", detail)


def render(result: Result) -> str:
    """`ok   name: detail`, or FAIL with the fix on the next line (indented past the status)."""
    first, *more = result.detail.splitlines() or [""]
    lines = [f"{result.status:<4}  {result.check}: {first}"]
    lines += [f"      {line}" for line in more]
    if result.fix:
        lines.append(f"      fix: {result.fix}")
    return "\n".join(lines)


def summary(results: Iterable[Result]) -> str:
    results = list(results)
    counts = {status: sum(r.status == status for r in results) for status in ("ok", "FAIL", "skip")}
    verdict = "not ready to deploy" if counts["FAIL"] else "ready to deploy"
    return f"{counts['ok']} ok, {counts['FAIL']} failed, {counts['skip']} skipped: {verdict}"
