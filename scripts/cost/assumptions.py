"""The usage an estimate assumes (requests, GB, messages): stated with every estimate, the user's
to change. Defaults in scripts/cost/assumptions.json; a run may override any of them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

DEFAULTS_FILE = Path(__file__).resolve().parent / "assumptions.json"


class AssumptionError(ValueError):
    """An override that names no assumption or is not a non-negative number."""


@dataclass(frozen=True)
class Assumption:
    name: str
    value: Decimal
    meaning: str
    changed: bool = False  # overridden for this run


def default_assumptions() -> dict[str, Assumption]:
    document = json.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))
    return {
        name: Assumption(name, Decimal(str(entry["value"])), entry["meaning"])
        for name, entry in document["assumptions"].items()
    }


def load_assumptions(
    overrides_file: Path | None = None, overrides: Iterable[str] = ()
) -> dict[str, Assumption]:
    """The defaults, then the file's values (`{"name": value}`), then `NAME=VALUE` pairs."""
    values: dict[str, Any] = {}
    if overrides_file is not None:
        try:
            document = json.loads(overrides_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as problem:
            raise AssumptionError(f"cannot read {overrides_file}: {problem}") from problem
        if not isinstance(document, dict):
            raise AssumptionError(f"{overrides_file} must hold a JSON object of NAME: VALUE")
        values.update(document.get("assumptions", document))
    for pair in overrides:
        name, equals, text = pair.partition("=")
        if not equals:
            raise AssumptionError(
                f"--assume {pair!r}: write NAME=VALUE, e.g. cloudfront_gb_out=200"
            )
        values[name.strip()] = text.strip()
    assumptions = default_assumptions()
    for name, raw in values.items():
        if name not in assumptions:
            known = ", ".join(sorted(assumptions))
            raise AssumptionError(f"no assumption named {name!r}; the assumptions are: {known}")
        if isinstance(raw, dict):  # a copy of assumptions.json's own entry
            raw = raw.get("value")
        try:
            value = Decimal(str(raw))  # str first: a JSON float's exact decimal is not wanted
        except InvalidOperation as problem:
            raise AssumptionError(f"{name}={raw!r} is not a number") from problem
        if not value.is_finite() or value < 0:
            raise AssumptionError(f"{name}={raw!r}: give a number of 0 or more")
        assumptions[name] = Assumption(name, value, assumptions[name].meaning, changed=True)
    return assumptions
