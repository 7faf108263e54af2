"""stateful-resources-protected: prod's stateful resources carry `protect`; staging's need not."""

from __future__ import annotations

import pytest
import yaml
from pulumi_policy import ResourceValidationArgs

from infra.stateful import STATEFUL_TYPES
from shipyard_policies.protection import PROTECTED_STACKS, STATEFUL_RESOURCES_PROTECTED
from tests.policy.test_policies import options
from tools.paths import REPO_ROOT
from tools.plan.offline import EvaluatedStack, RecordedResource


def violations(resource: RecordedResource, *, protect: bool | None = None) -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(
        resource_type=resource.type,
        props=resource.inputs,
        urn=resource.urn,
        name=resource.name,
        opts=options(protect=resource.protect if protect is None else protect),
        provider=None,
    )
    STATEFUL_RESOURCES_PROTECTED.validate(args, lambda message, *_: found.append(message))
    return found


def test_prod_passes(stacks: dict[str, EvaluatedStack]) -> None:
    prod = stacks["prod"]
    stateful = [r for r in prod.resources if r.type in STATEFUL_TYPES]
    assert len(stateful) >= 10
    assert {r.urn: violations(r) for r in stateful if violations(r)} == {}


def test_a_prod_copy_without_protect_fails(stacks: dict[str, EvaluatedStack]) -> None:
    prod = stacks["prod"]
    unprotected = {
        r.name: violations(r, protect=False) for r in prod.resources if r.type in STATEFUL_TYPES
    }
    assert all(unprotected.values()), [name for name, found in unprotected.items() if not found]
    [message] = unprotected["database-postgres"]
    assert message.startswith("aws:rds/instance:Instance database-postgres is stateful")
    assert "shipyard:protect_stateful: true in Pulumi.prod.yaml" in message


def test_staging_and_stateless_resources_are_left_alone(stacks: dict[str, EvaluatedStack]) -> None:
    for resource in stacks["staging"].resources:
        assert not resource.protect
        assert violations(resource) == [], resource.urn
    service = stacks["prod"].named("aws:ecs/service:Service", "services-api")
    assert violations(service, protect=False) == []


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_policy_knows_which_stacks_protect(stack: str) -> None:
    config = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert (config.get("shipyard:protect_stateful") is True) == (stack in PROTECTED_STACKS)
