"""Run the database migration once, as a one-off ECS task, and fail unless it exits 0.

Migrations run once per rollout, before the new version serves traffic: the pipeline runs this,
then applies the approved plan (`pulumi up --plan`), which replaces the api and worker tasks.
Migrations are expand/contract, so the old version keeps working against the migrated schema
while the rollout proceeds.

The task definition comes from the stack output `migrate_task_definition_arn`, resolved to its
family's newest revision; its network from `migrate_network` {subnets, security_groups}. With
--image, a revision that runs another image is copied into a new revision with that image (all
else equal) and that one runs: the stack's state is not touched before the approved plan is
applied, and nothing can migrate with another version's code.

On a stack's first deploy there is nothing to run yet (no outputs): with --first-deploy-ok the
script says so and sets the step output `ran=false`, and the pipeline migrates right after the
first `pulumi up` instead.

    python -m scripts.deploy.run_migration --stack-outputs outputs.json --image "$IMAGE_REF"
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scripts.deploy.errors import DeployError
from scripts.deploy.github_actions import annotate, append_summary, run_main, set_output
from scripts.deploy.stack_outputs import load_stack_outputs, require

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
else:
    ECSClient = Any

STARTED_BY = "shipyard-migrate"  # visible in the ECS console and in `list-tasks --started-by`


@dataclass(frozen=True)
class MigrationTarget:
    cluster: str
    task_definition: str  # an ARN or a family: ECS resolves a family to its newest ACTIVE revision
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    launch_type: str | None = None


@dataclass(frozen=True)
class LogLocation:
    container: str
    group: str
    stream: str
    region: str

    def console_url(self) -> str:
        # The CloudWatch console double-encodes the names inside its fragment.
        group = quote(quote(self.group, safe=""), safe="").replace("%", "$")
        stream = quote(quote(self.stream, safe=""), safe="").replace("%", "$")
        return (
            f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region={self.region}"
            f"#logsV2:log-groups/log-group/{group}/log-events/{stream}"
        )

    def __str__(self) -> str:
        return (
            f"{self.container}: log group {self.group}, stream {self.stream} ({self.console_url()})"
        )


def family_of(task_definition_arn: str) -> str:
    """arn:aws:ecs:…:task-definition/shipyard-migrate:7 -> shipyard-migrate"""
    tail = task_definition_arn.rsplit("/", 1)[-1]
    family, _, revision = tail.rpartition(":")
    return family if family and revision.isdigit() else tail


def target_from_outputs(outputs: Mapping[str, Any]) -> MigrationTarget:
    cluster, arn, network = require(
        dict(outputs), "cluster_name", "migrate_task_definition_arn", "migrate_network"
    )
    if not isinstance(network, Mapping) or not network.get("subnets"):
        raise DeployError(
            f"stack output migrate_network must be {{subnets: [...], security_groups: [...]}}, "
            f"got {network!r}"
        )
    return MigrationTarget(
        cluster=str(cluster),
        task_definition=family_of(str(arn)),
        subnets=tuple(network["subnets"]),
        security_groups=tuple(network.get("security_groups") or ()),
        launch_type=network.get("launch_type"),
    )


def registration_of(definition: Mapping[str, Any], image: str) -> dict[str, Any]:
    """RegisterTaskDefinition's arguments for a copy of `definition` that runs `image`.

    The request's members are taken from botocore's model of the ECS API, so what `describe`
    returns but `register` does not accept (ARN, revision, status, …) is left out by AWS's own
    definition, not by a list kept here.
    """
    import botocore.session

    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    if shape is None:  # botocore's model always has it; mypy cannot know
        raise DeployError("botocore's ECS model lacks RegisterTaskDefinition's input")
    members = shape.members
    request = {key: value for key, value in definition.items() if key in members}
    request["containerDefinitions"] = [
        {**container, "image": image} for container in definition.get("containerDefinitions", [])
    ]
    return request


def log_locations(
    task_definition: Mapping[str, Any], task_id: str, region: str
) -> list[LogLocation]:
    found = []
    for container in task_definition.get("containerDefinitions", []):
        config = container.get("logConfiguration") or {}
        options = config.get("options") or {}
        if config.get("logDriver") == "awslogs" and "awslogs-group" in options:
            prefix = options.get("awslogs-stream-prefix")
            stream = (
                f"{prefix}/{container['name']}/{task_id}"
                if prefix
                else f"(no stream prefix; task {task_id})"
            )
            found.append(
                LogLocation(
                    container["name"],
                    options["awslogs-group"],
                    stream,
                    options.get("awslogs-region", region),
                )
            )
    return found


def run_migration(
    ecs: ECSClient,
    target: MigrationTarget,
    *,
    expected_image: str | None,
    timeout_seconds: float,
    poll_seconds: float,
    region: str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    log: Callable[[str], None] = print,
) -> str:
    """Run the task to completion; returns its ARN. Raises DeployError on any failure."""
    definition = ecs.describe_task_definition(taskDefinition=target.task_definition)[
        "taskDefinition"
    ]
    definition_arn = definition["taskDefinitionArn"]
    images = {c.get("image") for c in definition.get("containerDefinitions", [])}
    if expected_image and images != {expected_image}:
        definition = ecs.register_task_definition(**registration_of(definition, expected_image))[
            "taskDefinition"
        ]
        log(
            f"registered {definition['taskDefinitionArn']} (was {definition_arn}) "
            f"with {expected_image}"
        )
        definition_arn = definition["taskDefinitionArn"]
    launch_type = target.launch_type
    if launch_type is None and definition.get("requiresCompatibilities") == ["FARGATE"]:
        launch_type = "FARGATE"  # otherwise: the cluster's default capacity provider strategy
    request: dict[str, Any] = {
        "cluster": target.cluster,
        "taskDefinition": definition_arn,
        "count": 1,
        "startedBy": STARTED_BY,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": list(target.subnets),
                "securityGroups": list(target.security_groups),
                "assignPublicIp": "DISABLED",
            }
        },
    }
    if launch_type:
        request["launchType"] = launch_type
    started = ecs.run_task(**request)
    if started.get("failures") or not started.get("tasks"):
        reasons = "; ".join(
            f"{f.get('arn', '')} {f.get('reason', '')} {f.get('detail', '')}".strip()
            for f in started.get("failures", [])
        )
        raise DeployError(
            f"ECS could not start the migration task ({reasons or 'no task returned'}); check "
            "capacity, the subnets and security groups in migrate_network, and the task role"
        )
    task_arn = started["tasks"][0]["taskArn"]
    task_id = task_arn.rsplit("/", 1)[-1]
    logs = log_locations(definition, task_id, region)
    log(f"migration task {task_id} started from {definition_arn}")

    deadline = clock() + timeout_seconds
    while True:
        described = ecs.describe_tasks(cluster=target.cluster, tasks=[task_arn])
        task = (described.get("tasks") or [{}])[0]
        status = task.get("lastStatus", "UNKNOWN")
        if status == "STOPPED":
            break
        if clock() >= deadline:
            ecs.stop_task(
                cluster=target.cluster,
                task=task_arn,
                reason=f"migration exceeded {timeout_seconds:.0f} s in the deploy pipeline",
            )
            raise DeployError(
                f"migration task {task_id} still {status} after {timeout_seconds:.0f} s; it was "
                f"stopped (PostgreSQL rolls back the unfinished transaction). Logs: "
                + "; ".join(map(str, logs))
            )
        log(f"  migration task {task_id}: {status}")
        sleep(poll_seconds)

    essential = {
        c["name"] for c in definition.get("containerDefinitions", []) if c.get("essential", True)
    }
    problems = []
    for container in task.get("containers", []):
        if container.get("name") not in essential:
            continue
        code = container.get("exitCode")
        if code != 0:
            why = container.get("reason") or task.get("stoppedReason") or "no reason given"
            exited = "no exit code" if code is None else str(code)
            problems.append(f"{container.get('name')} exited with {exited} ({why})")
    if not task.get("containers"):
        problems.append(
            f"the task stopped without running: {task.get('stoppedReason', 'no reason given')}"
        )
    where = "; ".join(map(str, logs)) or "the task definition has no awslogs configuration"
    if problems:
        raise DeployError(f"migration failed: {'; '.join(problems)}. Logs: {where}")
    log(f"migration task {task_id} exited 0. Logs: {where}")
    append_summary(f"### Migration\n\nTask `{task_id}` from `{definition_arn}` exited 0.")
    return str(task_arn)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-outputs", type=Path, required=True)
    parser.add_argument("--image", help="refuse to run unless the task definition runs this image")
    parser.add_argument("--launch-type", choices=["FARGATE", "EC2"], help="override the default")
    parser.add_argument("--timeout", type=float, default=900, help="seconds (default 900)")
    parser.add_argument("--interval", type=float, default=10, help="seconds between polls")
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    parser.add_argument(
        "--first-deploy-ok",
        action="store_true",
        help="no stack outputs yet (first deploy): skip with ran=false instead of failing",
    )
    args = parser.parse_args(argv)

    def body() -> int:
        import boto3  # here, not at import time: --help and the tests need no AWS setup

        outputs = load_stack_outputs(args.stack_outputs)
        if args.first_deploy_ok and not outputs.get("migrate_task_definition_arn"):
            annotate("notice", "first deploy of this stack: migrations run after its first up")
            set_output("ran", "false")
            return 0
        target = target_from_outputs(outputs)
        if args.launch_type:
            target = MigrationTarget(
                target.cluster,
                target.task_definition,
                target.subnets,
                target.security_groups,
                args.launch_type,
            )
        ecs = boto3.client("ecs", region_name=args.region)
        run_migration(
            ecs,
            target,
            expected_image=args.image,
            timeout_seconds=args.timeout,
            poll_seconds=args.interval,
            region=ecs.meta.region_name,
        )
        set_output("ran", "true")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
