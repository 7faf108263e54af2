"""Each CrossGuard policy: silent on the real stacks, and reports a violating copy of a resource."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from shipyard_policies import ALL_POLICIES
from shipyard_policies.compute import (
    ECS_IMAGE_BY_DIGEST,
    ECS_PRODUCTION_CAPACITY,
    ECS_SAFE_DEPLOYMENTS,
    ECS_STOP_TIMEOUT_COVERS_DRAIN,
    ECS_TASKS_PRIVATE,
)
from shipyard_policies.database import RDS_ENCRYPTED_PRIVATE_BACKED_UP, RDS_PRODUCTION_RESILIENCE
from shipyard_policies.edge import (
    NO_INGRESS_FROM_INTERNET,
    S3_BUCKETS_BLOCK_PUBLIC_ACCESS,
    S3_PUBLIC_ACCESS_BLOCK_COMPLETE,
)
from shipyard_policies.iam import IAM_NO_WILDCARD_ACTIONS
from shipyard_policies.messaging import SNS_TOPIC_ENCRYPTED, SQS_QUEUE_ENCRYPTED_WITH_DLQ
from tools.plan.offline import EvaluatedStack, RecordedResource


def options(*, protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )


OPTIONS = options()


def violations(
    policy: ResourceValidationPolicy,
    resource: RecordedResource,
    props: dict[str, Any] | None = None,
) -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(
        resource_type=resource.type,
        props=resource.inputs if props is None else props,
        urn=resource.urn,
        name=resource.name,
        # the options the program gave the resource (`protect` from the stack transformation)
        opts=options(protect=resource.protect),
        provider=None,
    )
    for validate in policy.validate if isinstance(policy.validate, list) else [policy.validate]:
        validate(args, lambda message, *_: found.append(message))
    return found


def set_path(props: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        props = props[part]
    props[last] = value


def container_change(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(props: dict[str, Any]) -> None:
        containers = json.loads(props["containerDefinitions"])
        change(containers[0])
        props["containerDefinitions"] = json.dumps(containers)

    return apply


def policy_change(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(props: dict[str, Any]) -> None:
        document = json.loads(props["policy"])
        change(document["Statement"][0])
        props["policy"] = json.dumps(document)

    return apply


# (policy, stack, resource type, resource name, how to break it, expected words in the message)
CASES = [
    (
        SQS_QUEUE_ENCRYPTED_WITH_DLQ,
        "staging",
        "aws:sqs/queue:Queue",
        "messaging-order-processing",
        lambda p: p.pop("redrivePolicy"),
        "no dead-letter queue",
    ),
    (
        SQS_QUEUE_ENCRYPTED_WITH_DLQ,
        "staging",
        "aws:sqs/queue:Queue",
        "messaging-order-processing-dlq",
        lambda p: p.pop("sqsManagedSseEnabled"),
        "not encrypted",
    ),
    (
        SNS_TOPIC_ENCRYPTED,
        "prod",
        "aws:sns/topic:Topic",
        "messaging-orders",
        lambda p: p.pop("kmsMasterKeyId"),
        "not encrypted",
    ),
    (
        IAM_NO_WILDCARD_ACTIONS,
        "staging",
        "aws:iam/rolePolicy:RolePolicy",
        "task-roles-api",
        policy_change(lambda s: s.update(Action="sns:*")),
        "grants 'sns:*'",
    ),
    (
        IAM_NO_WILDCARD_ACTIONS,
        "staging",
        "aws:iam/rolePolicy:RolePolicy",
        "task-roles-worker",
        policy_change(lambda s: s.update(Action="*")),
        "grants '*'",
    ),
    (
        ECS_TASKS_PRIVATE,
        "staging",
        "aws:ecs/service:Service",
        "services-worker",
        lambda p: set_path(p, "networkConfiguration.assignPublicIp", True),
        "public IPs",
    ),
    (
        ECS_IMAGE_BY_DIGEST,
        "prod",
        "aws:ecs/taskDefinition:TaskDefinition",
        "task-definitions-api",
        container_change(lambda c: c.update(image=c["image"].split("@")[0] + ":latest")),
        "not pinned by digest",
    ),
    (
        ECS_SAFE_DEPLOYMENTS,
        "staging",
        "aws:ecs/service:Service",
        "services-worker",  # the worker always rolls (staging's api deploys blue/green)
        lambda p: p.update(deploymentMinimumHealthyPercent=50),
        "keep 100% healthy",
    ),
    (
        ECS_SAFE_DEPLOYMENTS,
        "staging",
        "aws:ecs/service:Service",
        "services-api",
        lambda p: set_path(p, "alarms.rollback", False),
        "deployment alarms with rollback",
    ),
    (
        ECS_SAFE_DEPLOYMENTS,
        "prod",
        "aws:ecs/service:Service",
        "services-worker",
        lambda p: set_path(p, "deploymentCircuitBreaker.rollback", False),
        "circuit breaker",
    ),
    (
        ECS_SAFE_DEPLOYMENTS,
        "prod",
        "aws:ecs/service:Service",
        "services-api",
        lambda p: p["deploymentConfiguration"].pop("bakeTimeInMinutes"),
        "bake time",
    ),
    (
        ECS_STOP_TIMEOUT_COVERS_DRAIN,
        "staging",
        "aws:ecs/taskDefinition:TaskDefinition",
        "task-definitions-api",
        container_change(lambda c: c.update(stopTimeout=10)),
        "GRACEFUL_SHUTDOWN_SECONDS=20 must be below",
    ),
    (
        ECS_PRODUCTION_CAPACITY,
        "prod",
        "aws:ecs/service:Service",
        "services-api",
        lambda p: p.update(desiredCount=1),
        "at least 2 tasks",
    ),
    (
        RDS_ENCRYPTED_PRIVATE_BACKED_UP,
        "staging",
        "aws:rds/instance:Instance",
        "database-postgres",
        lambda p: p.update(storageEncrypted=False),
        "not encrypted",
    ),
    (
        RDS_ENCRYPTED_PRIVATE_BACKED_UP,
        "staging",
        "aws:rds/instance:Instance",
        "database-postgres",
        lambda p: p.update(publiclyAccessible=True),
        "publicly accessible",
    ),
    (
        RDS_PRODUCTION_RESILIENCE,
        "prod",
        "aws:rds/instance:Instance",
        "database-postgres",
        lambda p: p.update(multiAz=False),
        "multi-AZ",
    ),
    (
        NO_INGRESS_FROM_INTERNET,
        "staging",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "load-balancer-from-cloudfront",
        lambda p: (p.pop("prefixListId"), p.update(cidrIpv4="0.0.0.0/0")),
        "ingress from 0.0.0.0/0",
    ),
    (
        S3_PUBLIC_ACCESS_BLOCK_COMPLETE,
        "prod",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "edge-web",
        lambda p: p.update(restrictPublicBuckets=False),
        "restrictPublicBuckets",
    ),
]


@pytest.mark.parametrize(
    ("policy", "stack_name", "type_token", "name", "break_it", "expected"),
    CASES,
    ids=[f"{c[0].name}-{c[3]}-{c[5][:20]}" for c in CASES],
)
def test_policy_passes_the_real_resource_and_reports_the_broken_one(
    stacks: dict[str, EvaluatedStack],
    policy: ResourceValidationPolicy,
    stack_name: str,
    type_token: str,
    name: str,
    break_it: Callable[[dict[str, Any]], Any],
    expected: str,
) -> None:
    resource = stacks[stack_name].named(type_token, name)
    assert violations(policy, resource) == [], f"{resource.urn} should comply"
    broken = copy.deepcopy(resource.inputs)
    break_it(broken)
    found = violations(policy, resource, broken)
    assert any(expected in message for message in found), found


def test_the_dead_letter_tag_is_read_in_the_project_of_the_resource(
    stacks: dict[str, EvaluatedStack],
) -> None:
    """A renamed project tags its dead-letter queues `<project>:role` (infra/messaging.py); the
    pack takes the project from the URN. Control: the old key on a renamed project's queue is
    not taken for a dead-letter tag, so that queue must have a dead-letter queue itself."""
    dlq = stacks["staging"].named("aws:sqs/queue:Queue", "messaging-order-processing-dlq")
    project = dlq.urn.split("::")[1]
    assert dlq.inputs["tags"][f"{project}:role"] == "dead-letter"
    assert violations(SQS_QUEUE_ENCRYPTED_WITH_DLQ, dlq) == []
    renamed_urn = dlq.urn.replace(f"::{project}::", "::acme::")
    renamed_tags = {**dlq.inputs, "tags": {"acme:role": "dead-letter"}}
    as_acme = dataclasses.replace(dlq, urn=renamed_urn, inputs=renamed_tags)
    assert violations(SQS_QUEUE_ENCRYPTED_WITH_DLQ, as_acme) == []
    stale = dataclasses.replace(
        as_acme, inputs={**dlq.inputs, "tags": {f"{project}:role": "dead-letter"}}
    )
    (found,) = violations(SQS_QUEUE_ENCRYPTED_WITH_DLQ, stale)
    assert "no dead-letter queue" in found
    assert "acme:role=dead-letter" in found


def test_production_rules_do_not_apply_to_staging(stacks: dict[str, EvaluatedStack]) -> None:
    database = stacks["staging"].named("aws:rds/instance:Instance", "database-postgres")
    assert database.inputs["multiAz"] is False
    assert violations(RDS_PRODUCTION_RESILIENCE, database) == []


@pytest.mark.parametrize("stack_name", ["staging", "prod"])
def test_the_whole_stack_complies_with_every_resource_policy(
    stacks: dict[str, EvaluatedStack], stack_name: str
) -> None:
    policies = [p for p in ALL_POLICIES if isinstance(p, ResourceValidationPolicy)]
    for resource in stacks[stack_name].resources:
        for policy in policies:
            assert violations(policy, resource) == [], f"{policy.name}: {resource.urn}"


def stack_args(
    stack: EvaluatedStack, drop: frozenset[str] | set[str] = frozenset()
) -> StackValidationArgs:
    kept = [r for r in stack.resources if r.custom and r.urn not in drop]
    by_urn: dict[str, PolicyResource] = {}
    for record in kept:
        by_urn[record.urn] = PolicyResource(
            resource_type=record.type,
            props=record.inputs,
            urn=record.urn,
            name=record.name,
            opts=OPTIONS,
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
    for record in kept:
        by_urn[record.urn].dependencies.extend(
            by_urn[d] for d in record.dependencies if d in by_urn
        )
    return StackValidationArgs(resources=list(by_urn.values()))


def test_every_bucket_needs_a_public_access_block(stacks: dict[str, EvaluatedStack]) -> None:
    stack = stacks["staging"]
    found: list[str] = []
    S3_BUCKETS_BLOCK_PUBLIC_ACCESS.validate(stack_args(stack), lambda m, *_: found.append(m))
    assert found == []
    block = stack.named("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "edge-web")
    S3_BUCKETS_BLOCK_PUBLIC_ACCESS.validate(
        stack_args(stack, {block.urn}), lambda m, *_: found.append(m)
    )
    assert found == ["bucket edge-web has no public access block"]


def test_every_policy_is_mandatory_in_the_pack() -> None:
    source = (
        __import__("pathlib").Path(__file__).resolve().parents[2] / "policy" / "__main__.py"
    ).read_text()
    assert "EnforcementLevel.MANDATORY" in source
    assert len({p.name for p in ALL_POLICIES}) == len(ALL_POLICIES) == 14
