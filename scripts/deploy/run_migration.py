"""Run the stack's one-off tasks (services.yaml's `kind: task`, e.g. the migration) before the
rollout, each as an ECS task, and fail unless each exits 0.

What a task is, for the deploy: a one-off the pipeline runs before the services roll, once per
deploy, in declaration order (the order of services.yaml); one failing stops the deploy (the
tasks after it do not run, nor does `pulumi up`). The pipeline runs this, then applies the
approved plan (`pulumi up --plan`), which replaces the long-running services' tasks. Migrations
are expand/contract, so the old version keeps working against the migrated schema while the
rollout proceeds.

Which tasks: those services.yaml declares now (`--declaration`, the commit being deployed), found
in the stack output `services` (stack_outputs.py) with kind `task`: each one's task definition
(resolved to its family's newest revision) runs with its own `network` {subnets,
security_groups}. With --image, a revision that runs another image is copied into a new revision
with that image (all else equal) and that one runs: the stack's state is not touched before the
approved plan is applied, and nothing runs with another version's code. Other kinds are ignored.

A declared task the outputs do not have yet (the stack's first deploy, or a task new in this
release) has no task definition before `pulumi up` creates it: with --before-up it is left, with
a notice, for the same command after `pulumi up`; `--record FILE` lists the tasks that ran, so
that second run starts only those left (in declaration order). Without --before-up a missing
task is an error.

    python -m scripts.deploy.run_migration --stack-outputs outputs.json --image "$IMAGE_REF" \
        --before-up --record "$RUNNER_TEMP/tasks-run.txt"      # before `pulumi up`
    python -m scripts.deploy.run_migration --stack-outputs outputs.json --image "$IMAGE_REF" \
        --record "$RUNNER_TEMP/tasks-run.txt"                  # after it: the tasks left
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scripts.deploy.errors import DeployError
from scripts.deploy.github_actions import annotate, append_summary, run_main
from scripts.deploy.stack_outputs import DeployedService, deployed_services, load_stack_outputs
from scripts.deploy.stacks import REPO_ROOT

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
else:
    ECSClient = Any

# `startedBy` of each task (visible in the ECS console and in `list-tasks --started-by`): the
# deploy and the task's declared name, whatever the project is called. ECS takes letters, digits,
# `-`, `/` and `_` there, at most 36 of them for StartTask (128 for RunTask): with services.yaml's
# 20-character names this prefix fits both (tests/delivery/test_run_migration.py holds it).
STARTED_BY_PREFIX = "deploy-"
DECLARATION_FILE = REPO_ROOT / "services.yaml"
TASK_KIND = "task"


@dataclass(frozen=True)
class TaskTarget:
    name: str  # the task's name in services.yaml
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


def declared_tasks(path: Path = DECLARATION_FILE) -> list[str]:
    """The names of services.yaml's `kind: task` services, in declaration order.

    Read here (not from the outputs) because the outputs' object has no order (Pulumi writes its
    keys sorted) and holds what the stack ran before this deploy, while the declaration says what
    this deploy runs: a task removed in this release is not run with an image that lacks it. The
    file's full rules are the platform's (platform/infra/service_declaration.py, checked by the
    preview this deploy applies); this reads only names and kinds.
    """
    import yaml  # here, not at import time: --help needs no project set-up

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise DeployError(f"cannot read the services declaration {path}: {error}") from None
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        raise DeployError(f"{path} has no `services:` mapping; see docs/adapting.md")
    return [
        str(name)
        for name, entry in services.items()
        if isinstance(entry, dict) and entry.get("kind") == TASK_KIND
    ]


def legacy_services(
    outputs: Mapping[str, Any], log: Callable[[str], None]
) -> list[DeployedService]:
    """The one task a stack last deployed before the `services` output existed can name.

    Such a stack exports `migrate_task_definition_arn` and `migrate_network` instead. Falling
    back to them (once, saying so) rather than refusing: the outputs read before `pulumi up` are
    by construction those of the previous deploy, so refusing would block exactly the deploy
    that writes `services`, and the only way round it would roll new code onto an unmigrated
    schema. The `pulumi up` that follows writes `services`; from the next deploy on this is
    unused (remove it once every stack has been deployed with the `services` output). The task's
    name is its family without the cluster's (the program names both from the stack's prefix:
    `<prefix>-<name>`), so it matches its entry in services.yaml.
    """
    arn, cluster = outputs.get("migrate_task_definition_arn"), outputs.get("cluster_name")
    if not arn or not cluster:
        return []
    network = outputs.get("migrate_network")
    if not isinstance(network, Mapping):
        raise DeployError(
            f"stack output migrate_network must be {{subnets: [...], security_groups: [...]}}, "
            f"got {network!r}"
        )
    family = family_of(str(arn))
    name = family.removeprefix(f"{cluster}-")
    log(
        f"the stack's outputs have no `services` (it was last deployed by an earlier version): "
        f"running its task {name} from the legacy outputs migrate_task_definition_arn and "
        "migrate_network this once; this deploy's `pulumi up` writes `services`"
    )
    return [
        DeployedService(
            name=name,
            kind=TASK_KIND,
            task_definition_arn=str(arn),
            service_name=None,
            subnets=tuple(network.get("subnets") or ()),
            security_groups=tuple(network.get("security_groups") or ()),
            launch_type=network.get("launch_type"),
        )
    ]


def targets_from_outputs(
    outputs: Mapping[str, Any], wanted: Sequence[str], log: Callable[[str], None] = print
) -> tuple[list[TaskTarget], list[str]]:
    """The `wanted` tasks (in that order) the stack outputs can run, and those they lack."""
    deployed = deployed_services(outputs)
    if deployed is None:
        deployed = legacy_services(outputs, log)
    tasks = {s.name: s for s in deployed if s.kind == TASK_KIND}
    targets, missing = [], []
    for name in wanted:
        task = tasks.get(name)
        if task is None:
            missing.append(name)
            continue
        if not task.task_definition_arn or not task.subnets:
            raise DeployError(
                f"stack output services.{name} must have a task_definition_arn and network "
                f"{{subnets: [...], security_groups: [...]}}, got {task!r}"
            )
        cluster = outputs.get("cluster_name")
        if not cluster:
            raise DeployError("stack outputs lack cluster_name, where the tasks run")
        targets.append(
            TaskTarget(
                name=name,
                cluster=str(cluster),
                task_definition=family_of(task.task_definition_arn),
                subnets=task.subnets,
                security_groups=task.security_groups,
                launch_type=task.launch_type,
            )
        )
    return targets, missing


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


def run_task(
    ecs: ECSClient,
    target: TaskTarget,
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
        "startedBy": f"{STARTED_BY_PREFIX}{target.name}",
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
            f"ECS could not start task {target.name} ({reasons or 'no task returned'}); check "
            f"capacity, the subnets and security groups in the stack output "
            f"services.{target.name}.network, and the task role"
        )
    task_arn = started["tasks"][0]["taskArn"]
    task_id = task_arn.rsplit("/", 1)[-1]
    logs = log_locations(definition, task_id, region)
    log(f"task {target.name} ({task_id}) started from {definition_arn}")

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
                reason=f"{target.name} exceeded {timeout_seconds:.0f} s in the deploy pipeline",
            )
            raise DeployError(
                f"task {target.name} ({task_id}) still {status} after {timeout_seconds:.0f} s; "
                "it was "
                f"stopped (PostgreSQL rolls back the unfinished transaction). Logs: "
                + "; ".join(map(str, logs))
            )
        log(f"  task {target.name} ({task_id}): {status}")
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
        raise DeployError(
            f"task {target.name} failed: {'; '.join(problems)}; the deploy stops here (no later "
            f"task runs, nor `pulumi up`). Logs: {where}"
        )
    log(f"task {target.name} ({task_id}) exited 0. Logs: {where}")
    append_summary(
        f"### One-off task `{target.name}`\n\nTask `{task_id}` from `{definition_arn}` exited 0."
    )
    return str(task_arn)


def read_record(path: Path | None) -> list[str]:
    """The tasks an earlier run of this deploy recorded as done (none without a record)."""
    if path is None or not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-outputs", type=Path, required=True)
    parser.add_argument("--image", help="refuse to run unless the task definition runs this image")
    parser.add_argument("--launch-type", choices=["FARGATE", "EC2"], help="override the default")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per task (default 900)")
    parser.add_argument("--interval", type=float, default=10, help="seconds between polls")
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    parser.add_argument(
        "--declaration",
        type=Path,
        default=DECLARATION_FILE,
        help="the services declaration (default: the repository's services.yaml)",
    )
    parser.add_argument(
        "--before-up",
        action="store_true",
        help="a declared task the outputs lack yet is left for the run after `pulumi up`",
    )
    parser.add_argument(
        "--record",
        type=Path,
        help="file listing the tasks this deploy ran: skipped here, and each one run appended",
    )
    args = parser.parse_args(argv)

    def body() -> int:
        outputs = load_stack_outputs(args.stack_outputs)
        done = read_record(args.record)
        wanted = [name for name in declared_tasks(args.declaration) if name not in done]
        targets, missing = targets_from_outputs(
            outputs, wanted, log=lambda line: annotate("notice", line)
        )
        if missing and not args.before_up:
            raise DeployError(
                f"the stack output `services` has no task {', '.join(missing)}, which "
                f"{args.declaration.name} declares; run `pulumi up` for this stack first (the "
                "deploy workflow does), then this again"
            )
        if missing:
            annotate(
                "notice",
                f"{', '.join(missing)}: not in the stack yet (its first deploy, or new in this "
                "release); run after `pulumi up` creates its task definition",
            )
        if not targets:
            print("no task to run now" + (f" (already ran: {', '.join(done)})" if done else ""))
            return 0
        import boto3  # here, not at import time: --help and the tests need no AWS setup

        ecs = boto3.client("ecs", region_name=args.region)
        for target in targets:
            if args.launch_type:
                target = replace(target, launch_type=args.launch_type)
            # In declaration order; run_task raises on a failure, which stops the loop and the
            # deploy: a later task may rely on an earlier one (data after schema).
            run_task(
                ecs,
                target,
                expected_image=args.image,
                timeout_seconds=args.timeout,
                poll_seconds=args.interval,
                region=ecs.meta.region_name,
            )
            if args.record:
                with args.record.open("a", encoding="utf-8") as record:
                    record.write(f"{target.name}\n")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
