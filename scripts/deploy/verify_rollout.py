"""Wait for the ECS services to settle; fail unless the new task definition finished rolling out.

`pulumi up` returns as soon as ECS has accepted the new task definition. If the new tasks then
fail their health checks, the deployment circuit breaker rolls the service back to the previous
task definition — and the pipeline would stay green while production runs the old version (a
known provider issue). This check closes that gap: for every service, the PRIMARY deployment must
run exactly the task definition that was just deployed, with `rolloutState == COMPLETED` and all
desired tasks running. A rollback, a FAILED rollout or a timeout turns the job red, with the
service's recent events in the message.

    pulumi stack output --json --stack staging > outputs.json
    python -m scripts.deploy.verify_rollout --stack-outputs outputs.json --image "$IMAGE_REF"
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from scripts.deploy.errors import DeployError
from scripts.deploy.github_actions import append_summary, run_main
from scripts.deploy.stack_outputs import load_stack_outputs, require

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
else:
    ECSClient = Any

State = Literal["completed", "in_progress", "failed"]
DESCRIBE_SERVICES_MAX = 10  # the ECS API's limit per call
EVENTS_SHOWN = 5


@dataclass(frozen=True)
class ExpectedService:
    name: str
    task_definition_arn: str


@dataclass(frozen=True)
class Verdict:
    service: str
    state: State
    message: str
    events: tuple[str, ...] = ()


def judge_service(service: Mapping[str, Any], expected_task_definition: str) -> Verdict:
    """One look at a service description (DescribeServices): done, still going, or failed."""
    name = str(service.get("serviceName", "?"))
    events = tuple(
        f"{event.get('createdAt', '')} {event.get('message', '')}".strip()
        for event in list(service.get("events", []))[:EVENTS_SHOWN]
    )
    if service.get("status") != "ACTIVE":
        return Verdict(name, "failed", f"service status is {service.get('status')}", events)
    deployments = list(service.get("deployments", []))
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is None:
        return Verdict(name, "in_progress", "no PRIMARY deployment yet", events)
    running_definition = primary.get("taskDefinition")
    if running_definition != expected_task_definition:
        ours = next(
            (d for d in deployments if d.get("taskDefinition") == expected_task_definition), None
        )
        why = ""
        if ours:
            why = f"; the new deployment is {ours.get('rolloutState')}: "
            why += str(ours.get("rolloutStateReason", ""))
        return Verdict(
            name,
            "failed",
            f"the PRIMARY deployment runs {running_definition}, not the deployed "
            f"{expected_task_definition}: the deployment circuit breaker rolled it back, or "
            f"another deployment replaced it{why}",
            events,
        )
    rollout = primary.get("rolloutState")
    desired, running = primary.get("desiredCount", 0), primary.get("runningCount", 0)
    progress = f"{running}/{desired} tasks running"
    if rollout is None:
        return Verdict(
            name,
            "failed",
            "the deployment has no rolloutState: enable the deployment circuit breaker "
            "(deployment_circuit_breaker={enable: true, rollback: true}) so rollouts are judged",
            events,
        )
    if rollout == "FAILED":
        reason = primary.get("rolloutStateReason", "no reason given")
        return Verdict(name, "failed", f"rollout FAILED: {reason} ({progress})", events)
    if rollout == "COMPLETED" and running == desired and len(deployments) == 1:
        return Verdict(name, "completed", f"rollout COMPLETED ({progress})", events)
    others = len(deployments) - 1
    return Verdict(
        name,
        "in_progress",
        f"rollout {rollout} ({progress}, {others} older deployment(s) draining)",
        events,
    )


def _describe(ecs: ECSClient, cluster: str, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), DESCRIBE_SERVICES_MAX):
        chunk = list(names[start : start + DESCRIBE_SERVICES_MAX])
        answer = ecs.describe_services(cluster=cluster, services=chunk)
        for failure in answer.get("failures", []):
            raise DeployError(
                f"ECS cannot describe {failure.get('arn')} in cluster {cluster}: "
                f"{failure.get('reason')} {failure.get('detail', '')}".rstrip()
                + "; check the stack outputs cluster_name/*_service_name and the AWS region"
            )
        for service in answer.get("services", []):
            found[str(service["serviceName"])] = dict(service)
            found[str(service["serviceArn"])] = dict(service)
    return found


def check_images(ecs: ECSClient, expected: Iterable[ExpectedService], image_ref: str) -> None:
    """Each deployed task definition must run the image the pipeline built (by digest)."""
    for service in expected:
        definition = ecs.describe_task_definition(taskDefinition=service.task_definition_arn)
        images = [
            c.get("image") for c in definition["taskDefinition"].get("containerDefinitions", [])
        ]
        if image_ref not in images:
            raise DeployError(
                f"{service.name}: task definition {service.task_definition_arn} runs {images}, "
                f"not {image_ref}; did `pulumi config set shipyard:image_ref` run before "
                "`pulumi up`?"
            )


def wait_for_rollout(
    ecs: ECSClient,
    *,
    cluster: str,
    expected: Sequence[ExpectedService],
    timeout_seconds: float,
    poll_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    log: Callable[[str], None] = print,
) -> list[Verdict]:
    if not expected:
        raise DeployError("no services to verify")
    deadline = clock() + timeout_seconds
    while True:
        described = _describe(ecs, cluster, [s.name for s in expected])
        verdicts = [judge_service(described[s.name], s.task_definition_arn) for s in expected]
        log("  " + " | ".join(f"{v.service}: {v.message}" for v in verdicts))
        failed = [v for v in verdicts if v.state == "failed"]
        if failed:
            raise DeployError(_explain("rollout failed", failed))
        if all(v.state == "completed" for v in verdicts):
            return verdicts
        if clock() >= deadline:
            waiting = [v for v in verdicts if v.state != "completed"]
            raise DeployError(
                _explain(f"rollout not finished after {timeout_seconds:.0f} s", waiting)
                + " — the service may still converge or be rolled back by its circuit breaker; "
                "look at its events in the ECS console before re-running"
            )
        sleep(poll_seconds)


def _explain(headline: str, verdicts: Sequence[Verdict]) -> str:
    parts = []
    for verdict in verdicts:
        events = "; ".join(verdict.events) or "no events"
        parts.append(f"{verdict.service}: {verdict.message} [recent events: {events}]")
    return f"{headline}: " + " || ".join(parts)


def expected_from_outputs(outputs: Mapping[str, Any]) -> tuple[str, list[ExpectedService]]:
    cluster, api, api_td, worker, worker_td = require(
        dict(outputs),
        "cluster_name",
        "api_service_name",
        "api_task_definition_arn",
        "worker_service_name",
        "worker_task_definition_arn",
    )
    return str(cluster), [ExpectedService(api, api_td), ExpectedService(worker, worker_td)]


def _parse_service(text: str) -> ExpectedService:
    name, sep, arn = text.partition("=")
    if not sep or not name or not arn:
        raise argparse.ArgumentTypeError(f"expected NAME=TASK_DEFINITION_ARN, got {text!r}")
    return ExpectedService(name, arn)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-outputs", type=Path, help="`pulumi stack output --json` file")
    parser.add_argument("--cluster", help="instead of --stack-outputs: the cluster name")
    parser.add_argument(
        "--service",
        type=_parse_service,
        action="append",
        default=[],
        metavar="NAME=TASK_DEFINITION_ARN",
        help="instead of --stack-outputs (repeatable)",
    )
    parser.add_argument("--image", help="also require the task definitions to run this image")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds (default 1200)")
    parser.add_argument("--interval", type=float, default=15, help="seconds between polls")
    parser.add_argument("--region", help="AWS region (default: the environment's)")
    args = parser.parse_args(argv)
    if bool(args.stack_outputs) == bool(args.cluster or args.service):
        parser.error("give either --stack-outputs or --cluster with --service")

    def body() -> int:
        import boto3  # here, not at import time: --help and the tests need no AWS setup

        if args.stack_outputs:
            cluster, expected = expected_from_outputs(load_stack_outputs(args.stack_outputs))
        else:
            cluster, expected = args.cluster, list(args.service)
        ecs = boto3.client("ecs", region_name=args.region)
        if args.image:
            check_images(ecs, expected, args.image)
        names = ", ".join(s.name for s in expected)
        print(f"waiting for {names} in {cluster} (at most {args.timeout:.0f} s)")
        verdicts = wait_for_rollout(
            ecs,
            cluster=cluster,
            expected=expected,
            timeout_seconds=args.timeout,
            poll_seconds=args.interval,
        )
        append_summary(
            "### Rollout verified\n\n"
            + "\n".join(f"- `{v.service}`: {v.message}" for v in verdicts)
        )
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
