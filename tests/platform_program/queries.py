"""Reading the mocked stacks: container definitions, IAM documents, resources by logical name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tools.plan.offline import EvaluatedStack, RecordedResource

DIGEST_REFERENCE = (
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$"
)

# Resource types whose inputs hold an IAM policy document, and the input that holds it.
POLICY_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:kms/key:Key": "policy",
}


def task_definition(stack: EvaluatedStack, role: str) -> RecordedResource:
    return stack.named("aws:ecs/taskDefinition:TaskDefinition", f"task-definitions-{role}")


def container(stack: EvaluatedStack, role: str) -> dict[str, Any]:
    definitions = json.loads(task_definition(stack, role).inputs["containerDefinitions"])
    assert len(definitions) == 1, "one container per task: the service process"
    return definitions[0]


def environment(stack: EvaluatedStack, role: str) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container(stack, role)["environment"]}


def secrets(stack: EvaluatedStack, role: str) -> dict[str, str]:
    return {item["name"]: item["valueFrom"] for item in container(stack, role)["secrets"]}


def policy_documents(stack: EvaluatedStack) -> Iterator[tuple[RecordedResource, dict[str, Any]]]:
    for resource in stack.resources:
        key = POLICY_INPUTS.get(resource.type)
        if key and resource.inputs.get(key):
            yield resource, json.loads(resource.inputs[key])


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_policy_of(stack: EvaluatedStack, role_resource_name: str) -> dict[str, Any]:
    """The inline policy attached to a role, found through the role's id."""
    role = stack.named("aws:iam/role:Role", role_resource_name)
    policies = [
        r
        for r in stack.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.inputs.get("role") == role.state["id"]
    ]
    assert len(policies) == 1, f"{role.urn}: expected one inline policy, found {len(policies)}"
    return json.loads(policies[0].inputs["policy"])


def resource_with_id(stack: EvaluatedStack, resource_id: str) -> RecordedResource:
    return next(r for r in stack.resources if r.state.get("id") == resource_id)


def alarm_metrics(alarm: RecordedResource) -> list[tuple[str, dict[str, str]]]:
    """The (metric name, dimensions) an alarm reads: its metric, or each metric of its math."""
    inputs = alarm.inputs
    if inputs.get("metricName"):
        return [(inputs["metricName"], inputs.get("dimensions") or {})]
    return [
        (query["metric"]["metricName"], query["metric"].get("dimensions") or {})
        for query in inputs.get("metricQueries") or []
        if query.get("metric")
    ]
