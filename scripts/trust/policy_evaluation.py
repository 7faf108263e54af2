"""AWS IAM policy evaluation, with AWS's documented condition semantics: a trust (or other
resource) policy alone (`evaluate`), and a role's identity policies under its permissions
boundary, with the resource's own policy (`evaluate_identity`).

Written here because the evaluators at hand do not apply them: moto's trust check passes every
operator but `StringEquals` (a `StringLike` condition always holds there). What is implemented,
from the IAM User Guide ("Condition operators", "Conditions with multiple context keys or
values", "Policy evaluation logic"):

- an explicit Deny wins; otherwise some Allow must match; otherwise the request is denied;
- `Action` and `Principal` must match (actions case-insensitively, with `*`/`?` wildcards);
  `NotAction` matches every action it does not list (PowerUserAccess is written that way);
- `Resource` must match the request's resource (ARNs case-sensitively, with `*`/`?`),
  `NotResource` matches every resource it does not list;
- within one account (IAM User Guide, "Policy evaluation logic", "Permissions boundaries for IAM
  entities"): an explicit Deny in any identity policy, the permissions boundary or the resource's
  policy wins; otherwise an Allow from an identity policy or from the resource's policy is
  needed, and, when the role has a permissions boundary, an Allow from the boundary too (a
  boundary only caps, it never grants);
- several operators in one `Condition` are ANDed, several keys under one operator are ANDed,
  several values for one key are ORed, and NORed for a negated operator (`StringNotEquals` …);
- `StringEquals`/`StringNotEquals` compare case-sensitively, `…IgnoreCase` without case;
  `StringLike`/`StringNotLike` match `*` (any run, also empty) and `?` (one character),
  case-sensitively;
- a key missing from the request makes a condition false, except for a negated operator (true),
  `…IfExists` (true) and `Null`;
- `ForAnyValue:` holds if any request value matches (false for a missing key), `ForAllValues:` if
  every request value matches (true for a missing or empty key);
- `Bool` compares `true`/`false` case-insensitively.

Anything else (policy variables, numeric, date, IP and ARN operators, `NotPrincipal`) raises
`UnsupportedPolicyError`: an evaluator that skipped what it cannot read would prove nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

ContextValue = str | Sequence[str]


class UnsupportedPolicyError(ValueError):
    """The policy uses something this evaluator does not implement (it never guesses)."""


@dataclass(frozen=True)
class Request:
    action: str
    principal: Mapping[str, str]  # e.g. {"Federated": "<provider arn>"}
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    # The ARN acted on; None for a trust policy (AssumeRoleWithWebIdentity names no resource).
    resource: str | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # which statement decided, or why none did


_STRING_OPERATORS = {
    "StringEquals": (False, False, False),  # (negated, ignore case, wildcards)
    "StringNotEquals": (True, False, False),
    "StringEqualsIgnoreCase": (False, True, False),
    "StringNotEqualsIgnoreCase": (True, True, False),
    "StringLike": (False, False, True),
    "StringNotLike": (True, False, True),
}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


@cache
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # Cached: a managed policy such as ReadOnlyAccess lists thousands of action patterns.
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's `*` and `?`; every other character literal (no character classes as in fnmatch)."""
    return _wildcard_regex(pattern, ignore_case).fullmatch(value) is not None


def _value_matches(operator: str, policy_value: str, request_value: str) -> bool:
    _, ignore_case, wildcards = _STRING_OPERATORS[operator]
    if "${" in policy_value:
        raise UnsupportedPolicyError(f"policy variable in {operator} value {policy_value!r}")
    if wildcards:
        return wildcard_match(policy_value, request_value, ignore_case=ignore_case)
    if ignore_case:
        return policy_value.casefold() == request_value.casefold()
    return policy_value == request_value


def _single_value(operator: str, policy_values: list[str], request_value: str) -> bool:
    """One request value against the policy's values: OR, or NOR when negated."""
    negated = _STRING_OPERATORS[operator][0]
    base = operator.replace("Not", "", 1) if negated else operator
    any_match = any(_value_matches(base, v, request_value) for v in policy_values)
    return not any_match if negated else any_match


def condition_holds(
    condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, ContextValue]
) -> bool:
    for raw_operator, keys in condition.items():
        qualifier, _, operator = raw_operator.rpartition(":")
        if_exists = operator.endswith("IfExists")
        operator = operator.removesuffix("IfExists")
        for key, raw_values in keys.items():
            if not _operator_holds(
                qualifier, operator, if_exists, key, _as_list(raw_values), context
            ):
                return False
    return True


def _lookup(context: Mapping[str, ContextValue], key: str) -> ContextValue | None:
    # Condition key names are case-insensitive; their values are not.
    for name, value in context.items():
        if name.lower() == key.lower():
            return value
    return None


def _operator_holds(
    qualifier: str,
    operator: str,
    if_exists: bool,
    key: str,
    policy_values: list[Any],
    context: Mapping[str, ContextValue],
) -> bool:
    present = _lookup(context, key)
    if operator == "Null":
        (expected,) = policy_values
        return (present is None) == (str(expected).lower() == "true")
    if operator == "Bool":
        if present is None:
            return if_exists
        return any(str(present).lower() == str(v).lower() for v in policy_values)
    if operator not in _STRING_OPERATORS:
        raise UnsupportedPolicyError(
            f"condition operator {operator!r} on {key!r} is not implemented"
        )
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise UnsupportedPolicyError(f"set qualifier {qualifier!r} is not an IAM qualifier")
    values = [str(v) for v in policy_values]
    negated = _STRING_OPERATORS[operator][0]

    if qualifier == "ForAllValues":
        if present is None:
            return True
        return all(_single_value(operator, values, v) for v in _as_list(present))
    if qualifier == "ForAnyValue":
        if present is None:
            return False
        return any(_single_value(operator, values, v) for v in _as_list(present))
    if present is None:
        return if_exists or negated
    if not isinstance(present, str):
        raise UnsupportedPolicyError(
            f"{key!r} has several values; qualify {operator} with ForAnyValue/ForAllValues"
        )
    return _single_value(operator, values, present)


def _action_matches(patterns: Any, action: str) -> bool:
    return any(wildcard_match(p, action, ignore_case=True) for p in _as_list(patterns))


def _resource_matches(patterns: Any, resource: str) -> bool:
    return any(wildcard_match(p, resource) for p in _as_list(patterns))


def _principal_matches(policy_principal: Any, principal: Mapping[str, str]) -> bool:
    if policy_principal == "*":
        return True
    if not isinstance(policy_principal, Mapping):
        raise UnsupportedPolicyError(f"Principal {policy_principal!r} is neither '*' nor a mapping")
    for kind, allowed in policy_principal.items():
        if kind in principal and any(a == "*" or a == principal[kind] for a in _as_list(allowed)):
            return True
    return False


def _statement_applies(
    statement: Mapping[str, Any], request: Request, *, sid: str, with_principal: bool
) -> bool:
    if "NotPrincipal" in statement:
        raise UnsupportedPolicyError(f"{sid}: NotPrincipal is not implemented")
    if "NotAction" in statement:
        if _action_matches(statement["NotAction"], request.action):
            return False
    elif not _action_matches(statement.get("Action", []), request.action):
        return False
    if request.resource is not None:
        if "NotResource" in statement:
            if _resource_matches(statement["NotResource"], request.resource):
                return False
        elif "Resource" in statement and not _resource_matches(
            statement["Resource"], request.resource
        ):
            return False
    if with_principal and not _principal_matches(statement.get("Principal"), request.principal):
        return False
    return condition_holds(statement.get("Condition", {}), request.context)


def _statements(document: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (statement.get("Sid") or f"statement {index}", statement)
        for index, statement in enumerate(_as_list(document.get("Statement", [])))
    ]


def evaluate(document: Mapping[str, Any], request: Request) -> Decision:
    """Decide `request` against one resource policy (a role's trust policy, a bucket policy)."""
    allowed_by: str | None = None
    for sid, statement in _statements(document):
        if not _statement_applies(statement, request, sid=sid, with_principal=True):
            continue
        if statement["Effect"] == "Deny":
            return Decision(False, f"explicitly denied by {sid}")
        allowed_by = allowed_by or sid
    if allowed_by:
        return Decision(True, f"allowed by {allowed_by}")
    return Decision(False, "no statement allows it (implicit deny)")


def _identity_matches(
    documents: Sequence[Mapping[str, Any]], request: Request, effect: str
) -> str | None:
    for number, document in enumerate(documents):
        for sid, statement in _statements(document):
            if statement.get("Effect") != effect:
                continue
            if "Principal" in statement:
                raise UnsupportedPolicyError(f"{sid}: an identity policy has no Principal")
            if _statement_applies(statement, request, sid=sid, with_principal=False):
                return f"{sid} (policy {number + 1})"
    return None


def evaluate_identity(
    identity_policies: Sequence[Mapping[str, Any]],
    request: Request,
    *,
    boundary: Mapping[str, Any] | None = None,
    resource_policy: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide `request` by a role session of the account that owns the resource (no SCPs or
    session policies): `identity_policies` are the role's inline and attached documents,
    `boundary` its permissions boundary, `resource_policy` the resource's own (a bucket policy;
    its statements carry a Principal that must match `request.principal`)."""
    if request.resource is None:
        raise UnsupportedPolicyError("an identity-policy request needs the resource it acts on")
    denied = _identity_matches(identity_policies, request, "Deny")
    if denied:
        return Decision(False, f"explicitly denied by {denied}")
    if boundary is not None:
        denied = _identity_matches([boundary], request, "Deny")
        if denied:
            return Decision(False, f"explicitly denied by the permissions boundary's {denied}")
    resource_decision = evaluate(resource_policy, request) if resource_policy else None
    if resource_decision and resource_decision.reason.startswith("explicitly denied"):
        return Decision(False, f"{resource_decision.reason} (the resource's policy)")
    allowed = _identity_matches(identity_policies, request, "Allow")
    reason = f"allowed by {allowed}" if allowed else None
    if not allowed and resource_decision and resource_decision.allowed:
        reason = f"{resource_decision.reason} (the resource's policy)"
    if reason is None:
        return Decision(False, "no identity or resource policy allows it (implicit deny)")
    if boundary is not None and not _identity_matches([boundary], request, "Allow"):
        return Decision(False, "the permissions boundary does not allow it (implicit deny)")
    return Decision(True, reason)


__all__ = [
    "Decision",
    "Request",
    "UnsupportedPolicyError",
    "condition_holds",
    "evaluate",
    "evaluate_identity",
]
