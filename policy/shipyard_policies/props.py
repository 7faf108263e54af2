"""Reading resource properties as CrossGuard hands them over (camelCase, JSON as strings)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

ReportViolation = Callable[..., None]
Check = Callable[[ResourceValidationArgs, ReportViolation], None]


def document(value: Any) -> Any:
    """A JSON document that may arrive as a string (inputs) or already parsed (some outputs)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def tag(props: Mapping[str, Any], key: str) -> str | None:
    tags = props.get("tags") or {}
    return tags.get(key) if isinstance(tags, Mapping) else None


def for_types(*types: str) -> Callable[[Check], Check]:
    """Runs a check only on the given resource types."""

    def decorate(check: Check) -> Check:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if args.resource_type in types:
                check(args, report_violation)

        return validate

    return decorate
