"""Validation errors in words a person can act on (issue 23, item 11).

Pydantic's and FastAPI's own sentences name library internals ("JSON decode error" at a character
offset, "String should have at least 12 characters"): each error is rewritten here from its
stable `type` and `ctx`, per field, into what is wrong and what to send instead. The machine
fields (`loc`, `type`) stay as they were, so programs keep branching on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def field_name(loc: list[Any] | tuple[Any, ...]) -> str:
    """("body", "lines", 0, "quantity") -> "lines.0.quantity"; ("query", "limit") -> "limit"."""
    return ".".join(str(part) for part in loc[1:]) or (str(loc[0]) if loc else "body")


def position(text: str | bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset, as an editor shows it."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    before = text[: max(0, offset)]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return line, column


def invalid_json(body: Any, offset: int, reason: str) -> str:
    if isinstance(body, str | bytes):
        line, column = position(body, offset)
        where = f" (at line {line}, column {column}: {reason.lower()})"
    else:
        where = f" ({reason.lower()})"
    return f"the request body is not valid JSON{where}; send a JSON object"


def _text(kind: str, ctx: Mapping[str, Any], fallback: str) -> str:
    """What is wrong with one field, from the error's type and its limits."""
    match kind:
        case "missing":
            return "is required"
        case "extra_forbidden":
            return "is not a field of this request; remove it"
        case "string_too_short":
            least = ctx.get("min_length")
            return "must not be empty" if least == 1 else f"needs at least {least} characters"
        case "string_too_long":
            return f"may have at most {ctx.get('max_length')} characters"
        case "string_pattern_mismatch":
            return "contains a character that is not allowed here (e.g. a NUL character)"
        case "string_type":
            return "must be text (a JSON string)"
        case "int_parsing" | "int_type" | "int_from_float":
            return "must be a whole number"
        case "decimal_parsing" | "decimal_type" | "float_parsing" | "float_type":
            return "must be a number"
        case "decimal_max_places":
            return f"may have at most {ctx.get('decimal_places')} decimal places"
        case "decimal_max_digits" | "decimal_whole_digits":
            return "has too many digits"
        case "greater_than":
            return f"must be greater than {ctx.get('gt')}"
        case "greater_than_equal":
            return f"must be at least {ctx.get('ge')}"
        case "less_than":
            return f"must be less than {ctx.get('lt')}"
        case "less_than_equal":
            return f"must be at most {ctx.get('le')}"
        case "bool_parsing" | "bool_type":
            return "must be true or false"
        case "list_type":
            return "must be a list (a JSON array)"
        case "too_short":
            return f"needs at least {ctx.get('min_length')} entries"
        case "too_long":
            return f"may have at most {ctx.get('max_length')} entries"
        case "model_attributes_type" | "dict_type" | "model_type":
            return "must be an object (a JSON object with named fields)"
        case "uuid_parsing" | "uuid_type":
            return "must be a UUID"
        case "literal_error" | "enum":
            return f"must be one of: {ctx.get('expected')}"
        case "value_error":
            if "reason" in ctx:  # pydantic's EmailStr, with email-validator's own explanation
                return f"is not a valid e-mail address: {ctx['reason']}"
            # Our own validators explain themselves; drop pydantic's prefix.
            reason = str(ctx.get("error") or fallback)
            return reason.removeprefix("Value error, ")
    return fallback[:1].lower() + fallback[1:] if fallback else "is not valid"


def describe(error: Mapping[str, Any], body: Any = None) -> str:
    """One error as "<field> <what is wrong>" (or a whole sentence for a malformed body)."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    loc = list(error.get("loc", ()))
    if kind == "json_invalid":
        offset = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        return invalid_json(body, offset, str(ctx.get("error", "JSON decode error")))
    return f"{field_name(loc)} {_text(kind, ctx, str(error.get('msg', '')))}"
