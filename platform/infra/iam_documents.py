"""IAM policy documents as plain data, serialised in one place.

Statements are dicts in AWS's own JSON shape (the shape the tests and the policy pack read back),
and may hold Pulumi outputs (ARNs known only after creation): `document` resolves them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

Statement = dict[str, Any]


def allow(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[pulumi.Input[str]] | pulumi.Input[str],
    condition: Mapping[str, Any] | None = None,
) -> Statement:
    # Wildcard actions are refused here, at the source, and again by the tests and the policy pack.
    for action in actions:
        if action == "*" or action.endswith(":*"):
            raise ValueError(f"statement {sid}: wildcard action {action!r}; list the actions")
    statement: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": list(actions),
        "Resource": list(resources) if isinstance(resources, list | tuple) else resources,
    }
    if condition:
        statement["Condition"] = dict(condition)
    return statement


def document(*statements: Statement) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust(service: str, condition: Mapping[str, Any] | None = None) -> pulumi.Output[str]:
    """Trust policy letting one AWS service principal assume a role."""
    statement: Statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = dict(condition)
    return document(statement)
