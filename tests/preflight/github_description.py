"""Recorded GitHub answers held to GitHub's published REST description.

data/github-rest-responses.json is a trimmed copy of the 200-response schema of each GET the
preflight sends (its `source` names the package, version and what was trimmed). A recorded answer
is an excerpt of a real one, so fields GitHub marks required may be left out; but every field it
holds must be one the description declares for that operation, with the declared type (and enum
value): a misspelt or invented field, or a number where GitHub sends a string, fails the test
that records it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

DESCRIPTION = Path(__file__).parent / "data" / "github-rest-responses.json"
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,),
}  # fmt: skip


@cache
def _operations() -> dict[str, Any]:
    return dict(json.loads(DESCRIPTION.read_text(encoding="utf-8"))["operations"])


def operation_of(path: str) -> str | None:
    """`/repos/o/r/environments/prod` -> `GET /repos/{owner}/{repo}/environments/{environment_name}`
    (the operation of GitHub's description whose path template matches)."""
    for operation in _operations():
        template = operation.removeprefix("GET ")
        pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return operation
    return None


def problems(path: str, body: Any) -> list[str]:
    """What in `body`, recorded as GET `path`'s answer, GitHub's description does not declare."""
    operation = operation_of(path)
    if operation is None:
        return [f"GET {path} is not an operation in {DESCRIPTION.name}"]
    return _check(body, _operations()[operation], "$")


def _check(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            each = [_check(value, alternative, where) for alternative in schema[combinator]]
            if any(not problems_of_one for problems_of_one in each):
                return []
            closest = min(each, key=len)
            return [f"{where} fits none of {len(each)} alternatives; closest: {closest[0]}"]
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}}
        for part in schema["allOf"]:
            merged["properties"].update(part.get("properties", {}))
        return _check(value, merged, where)
    declared = schema.get("type")
    kinds = declared if isinstance(declared, list) else [declared] if declared else []
    if value is None:
        ok = schema.get("nullable") or "null" in kinds
        return [] if ok else [f"{where} is null, which the description does not allow"]
    if kinds and not any(
        isinstance(value, _TYPES[k])
        and not (k in ("integer", "number") and isinstance(value, bool))
        for k in kinds
        if k in _TYPES
    ):
        return [f"{where}={value!r} is not of type {'/'.join(kinds)}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}={value!r} is not one of {schema['enum']}"]
    found: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                found += _check(item, properties[key], f"{where}.{key}")
            elif isinstance(extra, dict):
                found += _check(item, extra, f"{where}.{key}")
            else:
                found.append(f"{where}.{key} is not a field GitHub's description declares")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += _check(item, schema["items"], f"{where}[{index}]")
    return found
