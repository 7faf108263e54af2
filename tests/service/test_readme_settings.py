"""README.md's settings table is the service's `Settings` model, field for field: every field has
one row, every row is a field, and each row's default and allowed values are the model's own. A
new setting without a row, a renamed one, or a changed default or range fails here, with the row
the table should have."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import IPvAnyNetwork, SecretStr
from pydantic.fields import FieldInfo

from service.core.config import Settings
from service.messaging.topology import TOPOLOGY
from tools.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
_TOPIC_ARNS = Settings.model_fields["topic_arns"]  # the one endpoint map of ARNs, not URLs
HEADER = "| setting | default | allowed | what it does | where it is set |"


def settings_table(text: str) -> list[list[str]]:
    """The rows of the table under HEADER, each as its stripped cells."""
    assert HEADER in text, f"README.md has no settings table starting with {HEADER!r}"
    lines = text.split(HEADER, 1)[1].splitlines()[2:]  # after the header's separator line
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([cell.strip() for cell in cells])
    return rows


def variables(field_name: str) -> list[str]:
    """The environment variables one field reads: its own name, or the topology's for the
    endpoint maps (`topic_arns` reads `ORDERS_TOPIC_ARN`, ...)."""
    endpoints = TOPOLOGY.endpoint_env_vars()
    if field_name in endpoints:
        return sorted(endpoints[field_name].values())
    return [field_name.upper()]


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def expected_default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    default = field.get_default(call_default_factory=True)
    if default in (None, {}, []):
        return "unset"
    if isinstance(default, SecretStr):
        return "a placeholder"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, int | float | Decimal):
        return f"`{_number(default)}`"
    if isinstance(default, list):
        return ", ".join(f"`{item}`" for item in default)
    return f"`{default}`"


def expected_allowed(field: FieldInfo) -> str:
    if get_origin(field.annotation) is Literal:
        return ", ".join(f"`{choice}`" for choice in get_args(field.annotation))
    if field.annotation is bool:
        return "`true`, `false`"
    if get_origin(field.annotation) is list:
        (item,) = get_args(field.annotation)
        return "addresses or CIDRs, comma-separated" if item is IPvAnyNetwork else "comma-separated"
    if get_origin(field.annotation) is dict:
        return "an ARN" if field is _TOPIC_ARNS else "a URL"
    low = high = ""
    for rule in field.metadata:
        if isinstance(rule, annotated_types.Ge):
            low = _number(rule.ge)
        elif isinstance(rule, annotated_types.Gt):
            low = f"> {_number(rule.gt)}"
        elif isinstance(rule, annotated_types.Le):
            high = _number(rule.le)
    if low.startswith(">") and high:
        return f"{low}, ≤ {high}"
    if low and high:
        return f"{low}–{high}"
    return low or "text"


def expected_cells(field_name: str, field: FieldInfo) -> list[str]:
    names = ", ".join(f"`{name}`" for name in variables(field_name))
    return [names, expected_default(field), expected_allowed(field)]


def table_problems(text: str) -> list[str]:
    """Every way the table in `text` differs from the model, each with the row it should have."""
    rows = settings_table(text)
    by_name = {row[0]: row for row in rows}
    problems = []
    if len(by_name) != len(rows):
        problems.append("a setting has two rows")
    expected = {}
    for name, field in Settings.model_fields.items():
        cells = expected_cells(name, field)
        expected[cells[0]] = cells
        row = by_name.get(cells[0])
        if row is None:
            problems.append("missing row: | " + " | ".join(cells) + " | ... | ... |")
        elif row[1:3] != cells[1:3]:
            problems.append(f"{cells[0]}: default/allowed {row[1:3]} should be {cells[1:3]}")
        if row is not None and (len(row) != 5 or not row[3] or not row[4]):
            problems.append(f"{cells[0]}: five cells, saying what it does and where it is set")
    problems += [f"{name}: no Settings field reads it" for name in by_name if name not in expected]
    return problems


def test_readme_settings_table_is_the_settings_model():
    problems = table_problems(README.read_text(encoding="utf-8"))
    assert not problems, "README.md's settings table:\n" + "\n".join(problems)


def test_readme_settings_check_fails_on_a_drifted_table():
    """Control: a table with one row dropped, one default changed and one unknown row added."""
    text = README.read_text(encoding="utf-8")
    rows = settings_table(text)
    dropped, changed = rows[0], rows[2]
    drifted = text.replace("| " + " | ".join(dropped) + " |\n", "", 1)
    drifted = drifted.replace(
        "| " + " | ".join(changed) + " |",
        "| " + " | ".join([changed[0], "`7`", *changed[2:]]) + " |\n| `NO_SUCH` | x | x | x | x |",
    )
    problems = "\n".join(table_problems(drifted))
    assert f"missing row: | {dropped[0]}" in problems
    assert f"{changed[0]}: default/allowed" in problems
    assert "`NO_SUCH`: no Settings field reads it" in problems
