"""Wait for the ECS services to settle; fail unless the new task definition finished rolling out.

`pulumi up` can finish green while ECS rolls a release back (the circuit breaker, or a
deployment alarm, restores the previous revision: a known provider issue), so the pipeline
would stay green while production runs the old version. This check closes that gap with ECS's
service-deployment API, which judges rolling and native blue/green deployments alike (the
`deployments[].rolloutState` field is documented for the rolling type only):

1. DescribeServices -> each service's `currentServiceDeployment`;
2. DescribeServiceDeployments -> its `status`: SUCCESSFUL, or still PENDING / IN_PROGRESS (a
   blue/green deployment stays IN_PROGRESS through its bake time), or ROLLBACK_REQUESTED /
   ROLLBACK_IN_PROGRESS / ROLLBACK_SUCCESSFUL / ROLLBACK_FAILED, or STOP_REQUESTED / STOPPED;
3. DescribeServiceRevisions -> the task definition that deployment targets, which must be the one
   just deployed (another deployment may have replaced ours).

Any rollback or stop, a replaced deployment, or a timeout turns the job red, with the service's
recent events in the message.

A blue/green deployment can also finish SUCCESSFUL without moving production traffic: the AWS
provider has an open report that provider-driven updates do not alternate target groups
(hashicorp/terraform-provider-aws#45678). So once the rollout completed, each BLUE_GREEN
deployment's revisions are compared (`check_traffic_moved`): the new revision must resolve to
another target group than the revision it replaced (DescribeServiceRevisions,
`resolvedConfiguration.loadBalancers`), and the production listener rule must forward to the new
one (ELBv2 DescribeRules).

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
from scripts.deploy.previous_image import IMAGE_CONFIG_KEY
from scripts.deploy.stack_outputs import deployed_services, load_stack_outputs, require

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
else:
    ECSClient = Any
ELBv2Client = Any  # botocore's elbv2 client (no type stubs installed for it)

State = Literal["completed", "in_progress", "failed"]
DESCRIBE_SERVICES_MAX = 10  # the ECS API's limit per call
# The kinds of services.yaml that run as ECS services and roll out on `pulumi up`.
LONG_RUNNING = ("web", "worker")
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


# ECS's ServiceDeploymentStatus values, by what they mean for the release.
SUCCEEDED = "SUCCESSFUL"
GOING = ("PENDING", "IN_PROGRESS")
ROLLED_BACK = (
    "ROLLBACK_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_SUCCESSFUL",
    "ROLLBACK_FAILED",
)
STOPPED = ("STOP_REQUESTED", "STOPPED")
DESCRIBE_DEPLOYMENTS_MAX = 20  # DescribeServiceDeployments / DescribeServiceRevisions per call


def service_events(service: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(
        f"{event.get('createdAt', '')} {event.get('message', '')}".strip()
        for event in list(service.get("events", []))[:EVENTS_SHOWN]
    )


def judge_deployment(
    name: str,
    deployment: Mapping[str, Any],
    target_task_definition: str | None,
    expected_task_definition: str,
    events: tuple[str, ...] = (),
) -> Verdict:
    """One look at a service's current service deployment: done, still going, or failed."""
    status = str(deployment.get("status", "?"))
    strategy = deployment.get("deploymentConfiguration", {}).get("strategy", "ROLLING")
    target = deployment.get("targetServiceRevision", {})
    progress = (
        f"{target.get('runningTaskCount', 0)}/{target.get('requestedTaskCount', 0)} tasks running"
    )
    reason = deployment.get("statusReason", "no reason given")
    if target_task_definition != expected_task_definition:
        return Verdict(
            name,
            "failed",
            f"the current {strategy} deployment ({status}) targets {target_task_definition}, not "
            f"the deployed {expected_task_definition}: another deployment replaced it",
            events,
        )
    if status in ROLLED_BACK:
        rollback = deployment.get("rollback", {})
        back_to = rollback.get("serviceRevisionArn", "the previous revision")
        return Verdict(
            name,
            "failed",
            f"{strategy} deployment {status}: {rollback.get('reason') or reason} "
            f"(ECS rolls back to {back_to}; {progress} of the new revision)",
            events,
        )
    if status in STOPPED:
        return Verdict(name, "failed", f"{strategy} deployment {status}: {reason}", events)
    if status == SUCCEEDED:
        return Verdict(name, "completed", f"{strategy} deployment SUCCESSFUL ({progress})", events)
    stage = deployment.get("lifecycleStage")
    where = f", {stage}" if stage else ""
    return Verdict(
        name, "in_progress", f"{strategy} deployment {status}{where} ({progress})", events
    )


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _service_deployments(ecs: ECSClient, arns: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(arns, DESCRIBE_DEPLOYMENTS_MAX):
        answer = ecs.describe_service_deployments(serviceDeploymentArns=chunk)
        for failure in answer.get("failures", []):
            raise DeployError(
                f"ECS cannot describe service deployment {failure.get('arn')}: "
                f"{failure.get('reason')} {failure.get('detail', '')}".rstrip()
            )
        for deployment in answer.get("serviceDeployments", []):
            found[str(deployment["serviceDeploymentArn"])] = dict(deployment)
    return found


def _revision_task_definitions(
    ecs: ECSClient, arns: Sequence[str], known: dict[str, str]
) -> dict[str, str]:
    """Service revision ARN -> its task definition (revisions never change: cached)."""
    missing = [arn for arn in arns if arn not in known]
    for arn, revision in _revisions(ecs, missing).items():
        known[arn] = str(revision.get("taskDefinition"))
    return known


def _revisions(ecs: ECSClient, arns: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Service revision ARN -> the revision as DescribeServiceRevisions answers it."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(arns)), DESCRIBE_DEPLOYMENTS_MAX):
        answer = ecs.describe_service_revisions(serviceRevisionArns=chunk)
        for failure in answer.get("failures", []):
            raise DeployError(
                f"ECS cannot describe service revision {failure.get('arn')}: "
                f"{failure.get('reason')} {failure.get('detail', '')}".rstrip()
            )
        for revision in answer.get("serviceRevisions", []):
            found[str(revision["serviceRevisionArn"])] = dict(revision)
    return found


def _serving_target_groups(revision: Mapping[str, Any]) -> list[dict[str, str]]:
    """What ECS resolved the revision to: its target group and production listener rule."""
    resolved = revision.get("resolvedConfiguration", {}).get("loadBalancers")
    if not resolved:
        raise DeployError(
            f"ECS reports no resolvedConfiguration.loadBalancers for service revision "
            f"{revision.get('serviceRevisionArn')}, so whether production traffic moved to it "
            "cannot be told; look at the service's listener rule in the EC2 console before "
            "trusting this deploy"
        )
    return [dict(item) for item in resolved]


def _forwarded_to(elbv2: ELBv2Client, rule_or_listener: str) -> set[str]:
    """Target groups a listener rule (or a listener's default action) sends traffic to."""
    if ":listener-rule/" in rule_or_listener:
        actions = elbv2.describe_rules(RuleArns=[rule_or_listener])["Rules"][0]["Actions"]
    else:
        listener = elbv2.describe_listeners(ListenerArns=[rule_or_listener])["Listeners"][0]
        actions = listener["DefaultActions"]
    groups: set[str] = set()
    for action in actions:
        if action.get("Type") != "forward":
            continue
        weighted = action.get("ForwardConfig", {}).get("TargetGroups", [])
        groups.update(g["TargetGroupArn"] for g in weighted if g.get("Weight", 1) > 0)
        if not weighted and action.get("TargetGroupArn"):
            groups.add(action["TargetGroupArn"])
    return groups


def check_traffic_moved(
    ecs: ECSClient, elbv2: ELBv2Client, cluster: str, expected: Sequence[ExpectedService]
) -> list[str]:
    """After a completed rollout: each blue/green deployment moved production traffic to the new
    revision's target group. Returns one line per checked service; raises if one did not."""
    described = _describe(ecs, cluster, [s.name for s in expected])
    current = {
        s.name: str(described[s.name]["currentServiceDeployment"])
        for s in expected
        if described[s.name].get("currentServiceDeployment")
    }
    deployments = _service_deployments(ecs, list(current.values()))
    blue_green = {
        name: deployments[arn]
        for name, arn in current.items()
        if deployments[arn].get("deploymentConfiguration", {}).get("strategy") == "BLUE_GREEN"
    }
    if not blue_green:
        return []
    wanted = [
        arn
        for deployment in blue_green.values()
        for arn in (
            deployment["targetServiceRevision"]["arn"],
            *(source["arn"] for source in deployment.get("sourceServiceRevisions", [])),
        )
    ]
    revisions = _revisions(ecs, wanted)
    findings: list[str] = []
    for name, deployment in blue_green.items():
        target = _serving_target_groups(revisions[deployment["targetServiceRevision"]["arn"]])
        before = {
            item["targetGroupArn"]
            for source in deployment.get("sourceServiceRevisions", [])
            for item in _serving_target_groups(revisions[source["arn"]])
        }
        for serving in target:
            group, rule = serving["targetGroupArn"], serving.get("productionListenerRule")
            if group in before:
                raise DeployError(
                    f"{name}: the blue/green deployment did not swap target groups: the new "
                    f"revision serves from {group}, the group the revision it replaced used, so "
                    "no traffic shift took place (provider-driven updates can do this: "
                    "hashicorp/terraform-provider-aws#45678); redeploy through ECS (aws ecs "
                    "update-service --force-new-deployment) and check the listener rule"
                )
            if rule:
                forwarded = _forwarded_to(elbv2, rule)
                if forwarded != {group}:
                    raise DeployError(
                        f"{name}: the production listener rule {rule} forwards to "
                        f"{', '.join(sorted(forwarded)) or 'no target group'}, not to {group}, "
                        "where the new revision's tasks are: production still reaches the old "
                        "revision (or none); look at the rule's weights in the EC2 console"
                    )
            moved_from = ", ".join(sorted(before)) or "nothing (the first deployment)"
            findings.append(f"{name}: production traffic moved from {moved_from} to {group}")
    return findings


def look(
    ecs: ECSClient, cluster: str, expected: Sequence[ExpectedService], revisions: dict[str, str]
) -> list[Verdict]:
    """One round: every expected service's current deployment, judged."""
    described = _describe(ecs, cluster, [s.name for s in expected])
    verdicts: dict[str, Verdict] = {}
    current: dict[str, str] = {}
    for service in expected:
        description = described[service.name]
        events = service_events(description)
        if description.get("status") != "ACTIVE":
            verdicts[service.name] = Verdict(
                service.name, "failed", f"service status is {description.get('status')}", events
            )
        elif not description.get("currentServiceDeployment"):
            controller = description.get("deploymentController", {}).get("type", "ECS")
            verdicts[service.name] = Verdict(
                service.name,
                "failed" if controller != "ECS" else "in_progress",
                "no current service deployment yet"
                if controller == "ECS"
                else f"deployment controller {controller} has no ECS service deployments to judge",
                events,
            )
        else:
            current[service.name] = str(description["currentServiceDeployment"])
    deployments = _service_deployments(ecs, list(current.values()))
    targets = {
        name: str(deployments[arn].get("targetServiceRevision", {}).get("arn", ""))
        for name, arn in current.items()
    }
    _revision_task_definitions(ecs, [t for t in targets.values() if t], revisions)
    for service in expected:
        if service.name in current:
            verdicts[service.name] = judge_deployment(
                service.name,
                deployments[current[service.name]],
                revisions.get(targets[service.name]),
                service.task_definition_arn,
                service_events(described[service.name]),
            )
    return [verdicts[s.name] for s in expected]


def _describe(ecs: ECSClient, cluster: str, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(names, DESCRIBE_SERVICES_MAX):
        answer = ecs.describe_services(cluster=cluster, services=chunk)
        for failure in answer.get("failures", []):
            raise DeployError(
                f"ECS cannot describe {failure.get('arn')} in cluster {cluster}: "
                f"{failure.get('reason')} {failure.get('detail', '')}".rstrip()
                + "; check the stack outputs cluster_name and services.*.service_name, and "
                "the AWS region"
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
                f"not {image_ref}; did `pulumi config set {IMAGE_CONFIG_KEY}` run before "
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
    revisions: dict[str, str] = {}
    while True:
        verdicts = look(ecs, cluster, expected, revisions)
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
                + " — the deployment may still finish or be rolled back (a blue/green one stays "
                "IN_PROGRESS through its bake time); look at it in the ECS console before "
                "re-running"
            )
        sleep(poll_seconds)


def _explain(headline: str, verdicts: Sequence[Verdict]) -> str:
    parts = []
    for verdict in verdicts:
        events = "; ".join(verdict.events) or "no events"
        parts.append(f"{verdict.service}: {verdict.message} [recent events: {events}]")
    return f"{headline}: " + " || ".join(parts)


def expected_from_outputs(outputs: Mapping[str, Any]) -> tuple[str, list[ExpectedService]]:
    """Every long-running service (web, worker) of the stack output `services`, in its order.

    Other kinds are not rolled out as ECS services (a task runs once, a schedule starts tasks,
    kinds added later are theirs to check) and are ignored. A stack without the `services`
    output is refused rather than read from the old per-name outputs: this step reads the
    outputs the `pulumi up` just before it wrote, so their lacking `services` means that up was
    not this version's program (unlike run_migration.py, whose outputs are the previous
    deploy's and may predate the output).
    """
    (cluster,) = require(dict(outputs), "cluster_name")
    deployed = deployed_services(outputs)
    if deployed is None:
        raise DeployError(
            "stack outputs lack `services` (the stack was last updated by an earlier version of "
            "the platform program); run `pulumi up` for this stack with this version (the deploy "
            "workflow does), then verify again"
        )
    expected = []
    for service in deployed:
        if service.kind not in LONG_RUNNING:
            continue
        if not service.service_name or not service.task_definition_arn:
            raise DeployError(
                f"stack output services.{service.name} (a {service.kind}) must name its "
                f"service_name and task_definition_arn; got {service!r}"
            )
        expected.append(ExpectedService(service.service_name, service.task_definition_arn))
    if not expected:
        raise DeployError(
            "the stack output `services` has no web or worker service to verify; "
            "services.yaml declares at least one web service"
        )
    return str(cluster), expected


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
        moved = check_traffic_moved(
            ecs, boto3.client("elbv2", region_name=args.region), cluster, expected
        )
        for line in moved:
            print(f"  {line}")
        append_summary(
            "### Rollout verified\n\n"
            + "\n".join(f"- `{v.service}`: {v.message}" for v in verdicts)
            + "".join(f"\n- {line}" for line in moved)
        )
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
