"""Records the `pulumi preview --json` files in tests/delivery/data/plans/ from the real program.

    .venv/bin/python -m tests.delivery.record_plans

The Pulumi CLI cannot run here, so each file is a `display.PreviewDigest` (Pulumi's documented
`--json` shape, pulumi/pulumi sdk/pkg/display/json.go) assembled from the program evaluated under
the project's mocks (`tools.plan.offline`): every URN, type, input and output is the program's
own. What
the mocks cannot know — which operation an engine diff would choose, and which property forces a
replacement — is written per scenario below, as the AWS provider documents it (e.g. an RDS
`identifier` or an S3 `bucket` name forces a new resource). Values Pulumi marks secret appear as
"[secret]", as the CLI prints them. tests/platform_program/test_stateful.py checks that the URNs
here are still the program's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.plan.offline import (
    OFFLINE_SECRETS,
    SECRET_KEYS,
    EvaluatedStack,
    RecordedResource,
    evaluate_stack,
    raw_stack_config,
)

PLANS = Path(__file__).resolve().parent / "data" / "plans"
PROD_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shipyard@sha256:" + "ab" * 32
AWS_PROVIDER = "pulumi:providers:aws::default_7_51_1::04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True)
class Change:
    type: str
    name: str
    op: str  # "update", "replace" or "delete"
    keys: tuple[str, ...] = ()  # diffReasons; for a replace, the ones forcing it come first
    forcing: tuple[str, ...] = ()  # replaceReasons


@dataclass(frozen=True)
class Scenario:
    stack: str
    changes: tuple[Change, ...] = field(default_factory=tuple)


SCENARIOS: dict[str, Scenario] = {
    "prod-no-change": Scenario("prod"),
    "prod-update-in-place": Scenario(
        "prod",
        (
            Change("aws:ecs/service:Service", "services-api", "update", ("desiredCount",)),
            # a stateful resource changed in place: not destructive
            Change(
                "aws:sqs/queue:Queue",
                "messaging-order-processing",
                "update",
                ("visibilityTimeoutSeconds",),
            ),
        ),
    ),
    "prod-replace-database": Scenario(
        "prod",
        (
            Change(
                "aws:rds/instance:Instance",
                "database-postgres",
                "replace",
                ("identifier", "engineVersion"),
                ("identifier",),
            ),
            # a task definition is replaced on every change: stateless, never flagged
            Change(
                "aws:ecs/taskDefinition:TaskDefinition",
                "task-definitions-api",
                "replace",
                ("containerDefinitions",),
                ("containerDefinitions",),
            ),
            Change("aws:ecs/service:Service", "services-api", "update", ("taskDefinition",)),
        ),
    ),
    "prod-delete-queue": Scenario(
        "prod",
        (
            Change("aws:sqs/queue:Queue", "messaging-order-notifications", "delete"),
            Change("aws:sqs/queue:Queue", "messaging-order-notifications-dlq", "delete"),
            Change(
                "aws:sns/topicSubscription:TopicSubscription",
                "messaging-order-events-to-order-notifications",
                "delete",
            ),
            Change(
                "aws:sqs/queuePolicy:QueuePolicy", "messaging-order-notifications-policy", "delete"
            ),
        ),
    ),
    "staging-replace-bucket": Scenario(
        "staging",
        (
            Change("aws:s3/bucket:Bucket", "edge-web", "replace", ("bucket",), ("bucket",)),
            Change(
                "aws:s3/bucketPolicy:BucketPolicy", "edge-web", "replace", ("bucket",), ("bucket",)
            ),
        ),
    ),
    "staging-no-change": Scenario("staging"),
}


def _blind(value: Any, secrets: set[str]) -> Any:
    """What `pulumi preview --json` prints for values marked secret."""
    if isinstance(value, dict):
        return {k: _blind(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_blind(v, secrets) for v in value]
    if isinstance(value, str) and value in secrets:
        return "[secret]"
    return value


def _state(
    resource: RecordedResource, stack: EvaluatedStack, outputs: Any = None
) -> dict[str, Any]:
    """An apitype.ResourceV3 as the digest serialises it (empty fields omitted)."""
    state: dict[str, Any] = {
        "urn": resource.urn,
        "custom": resource.custom,
        "type": resource.type,
        "inputs": resource.inputs,
        "outputs": resource.state if outputs is None else outputs,
    }
    if resource.custom:
        state["id"] = resource.state.get("id", "")
        if resource.type.startswith("aws:"):
            state["provider"] = f"urn:pulumi:{stack.stack}::shipyard::{AWS_PROVIDER}"
    if resource.parent:
        state["parent"] = resource.parent
    if resource.protect:
        state["protect"] = True
    if resource.dependencies:
        state["dependencies"] = list(resource.dependencies)
    return state


def _protection_refusal(op: str, urn: str) -> str:
    if op == "replace":
        return (
            f'error: unable to replace resource "{urn}"\nas it is currently marked for protection. '
            "To unprotect the resource, remove the `protect` flag from the resource in your Pulumi "
            "program and run `pulumi up`\n"
        )
    return (
        f'error: unable to delete resource "{urn}"\nas it is currently marked for protection. To '
        "unprotect the resource, either remove the `protect` flag from the resource in your Pulumi "
        f"program or use the command:\n`pulumi state unprotect {urn}`\n"
    )


def digest(stack: EvaluatedStack, scenario: Scenario) -> dict[str, Any]:
    root = stack.by_urn(stack.root_urn or "")
    root_state = _state(root, stack, outputs=stack.outputs)
    steps: list[dict[str, Any]] = [
        {"op": "same", "urn": root.urn, "oldState": root_state, "newState": root_state}
    ]
    for change in scenario.changes:
        resource = stack.named(change.type, change.name)
        state = _state(resource, stack)
        step: dict[str, Any] = {"op": change.op, "urn": resource.urn}
        if resource.custom:
            step["provider"] = state.get("provider", "")
        step["oldState"] = state
        if change.op != "delete":
            step["newState"] = {**state, "outputs": {}}  # outputs unknown until the update runs
            step["diffReasons"] = list(change.keys)
        if change.forcing:
            step["replaceReasons"] = list(change.forcing)
        step["detailedDiff"] = (
            None
            if change.op == "delete"
            else {
                key: {
                    "kind": "update-replace" if key in change.forcing else "update",
                    "inputDiff": True,
                }
                for key in change.keys
            }
        )
        steps.append(step)
    # Prod protects its stateful resources: the engine then reports an error for each replace or
    # delete of one, and a preview still lists the step (pkg/resource/deploy/step_generator.go).
    diagnostics = [
        {
            "urn": resource.urn,
            "message": _protection_refusal(change.op, resource.urn),
            "severity": "error",
        }
        for change in scenario.changes
        for resource in [stack.named(change.type, change.name)]
        if resource.protect and change.op in ("replace", "delete")
    ]
    counts: dict[str, int] = {}
    for change in scenario.changes:
        counts[change.op] = counts.get(change.op, 0) + 1
    counts["same"] = len(stack.resources) - len(scenario.changes)
    config = {
        key: "[secret]" if key in SECRET_KEYS else value
        for key, value in raw_stack_config(stack.stack).items()
    }
    return _blind(
        {
            "config": config,
            "steps": steps,
            **({"diagnostics": diagnostics} if diagnostics else {}),
            "duration": 41_873_000_000,
            "changeSummary": dict(sorted(counts.items())),
        },
        set(OFFLINE_SECRETS.values()),
    )


def main() -> None:
    stacks = {
        "staging": evaluate_stack("staging"),
        "prod": evaluate_stack("prod", {"shipyard:image_ref": PROD_IMAGE}),
    }
    PLANS.mkdir(parents=True, exist_ok=True)
    for name, scenario in SCENARIOS.items():
        path = PLANS / f"{name}.json"
        document = digest(stacks[scenario.stack], scenario)
        path.write_text(json.dumps(document, indent=4) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(Path.cwd())} ({len(document['steps'])} steps)")


if __name__ == "__main__":
    main()
