"""Every AWS-managed policy the program attaches exists, under its real path.

A managed policy ARN is `arn:aws:iam::aws:policy<Path><Name>`. A wrong name or a wrong path (e.g.
`/service-role/` where AWS keeps the policy at `/`) is accepted by every shape check and by a
preview, and fails only at `pulumi up`, with NoSuchEntity on the attachment. AWS's own list of
managed policies, with each one's `Path`, ships with moto (`moto/iam/aws_managed_policies.py`,
generated from IAM's ListPolicies): the ARNs are checked against it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest
from moto.iam.aws_managed_policies import aws_managed_policies_data

from tools.plan.offline import EvaluatedStack, RecordedResource, evaluate_bootstrap

MANAGED_ARN = re.compile(
    r"^arn:aws:iam::aws:policy(?P<path>/(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]+)$"
)


@cache
def aws_managed_policy_paths() -> dict[str, str]:
    """Managed policy name -> its path, from AWS's list as bundled by moto."""
    return {name: body["Path"] for name, body in json.loads(aws_managed_policies_data).items()}


def managed_policy_problem(arn: str) -> str | None:
    """None if `arn` names an existing AWS-managed policy, else what is wrong with it."""
    match = MANAGED_ARN.match(arn)
    if match is None:
        return f"{arn} is not a managed policy ARN (arn:aws:iam::aws:policy/<path/>Name)"
    path, name = match["path"], match["name"]
    known = aws_managed_policy_paths()
    if name not in known:
        close = sorted(n for n in known if n.lower() == name.lower())
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"AWS has no managed policy named {name}{hint}"
    if known[name] != path:
        return (
            f"{name} lives at path {known[name]}, not {path}: its ARN is "
            f"arn:aws:iam::aws:policy{known[name]}{name}"
        )
    return None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def managed_policy_references(stack: EvaluatedStack) -> list[tuple[RecordedResource, str]]:
    """Every input value of every resource that is an AWS-managed policy ARN."""
    return [
        (resource, text)
        for resource in stack.resources
        for text in _strings(resource.inputs)
        if text.startswith("arn:aws:iam::aws:policy")
    ]


@pytest.fixture(scope="module")
def every_variant(
    staging: EvaluatedStack, prod: EvaluatedStack, variant: Callable[..., EvaluatedStack]
) -> list[EvaluatedStack]:
    """Both stacks, the settings that attach further managed policies (EC2 capacity), and the
    account bootstrap (the CI roles' managed policies)."""
    ec2 = variant("staging", compute_mode="ec2", image_platform="linux/arm64", api_memory="1000")
    return [staging, prod, ec2, evaluate_bootstrap()]


def test_every_managed_policy_arn_exists_with_its_path(every_variant: list[EvaluatedStack]) -> None:
    seen: set[str] = set()
    wrong: list[str] = []
    for stack in every_variant:
        for resource, arn in managed_policy_references(stack):
            seen.add(arn)
            problem = managed_policy_problem(arn)
            if problem:
                wrong.append(f"{stack.stack} {resource.urn}: {problem}")
    assert wrong == []
    # The scan must see what the programs attach: the bootstrap's CI roles, ECS's blue/green role
    # (prod), EC2 container instances (compute_mode=ec2).
    assert len(seen) >= 5, seen


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (
            "arn:aws:iam::aws:policy/service-role/AmazonECSInfrastructureRolePolicyForLoadBalancers",
            "lives at path /, not /service-role/",
        ),
        ("arn:aws:iam::aws:policy/PowerUserAcess", "no managed policy named PowerUserAcess"),
        ("arn:aws:iam::aws:policy/readonlyaccess", "did you mean ReadOnlyAccess?"),
        ("arn:aws:iam::123456789012:policy/Mine", "is not a managed policy ARN"),
    ],
)
def test_the_check_names_a_misspelt_name_or_path(arn: str, expected: str) -> None:
    problem = managed_policy_problem(arn)
    assert problem is not None
    assert expected in problem


def test_the_real_paths_are_accepted() -> None:
    for arn in (
        "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers",
        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    ):
        assert managed_policy_problem(arn) is None, arn
