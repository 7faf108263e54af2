"""ECS: private tasks, images by digest, deployments that cannot drop requests or stick."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from shipyard_policies.props import ReportViolation, for_types, tag

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
FARGATE_MAX_STOP_TIMEOUT = 120
DRAIN_SETTINGS = ("GRACEFUL_SHUTDOWN_SECONDS", "WORKER_SHUTDOWN_SECONDS")


def _containers(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = props.get("containerDefinitions")
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    return [c for c in parsed or [] if isinstance(c, dict)]


@for_types("aws:ecs/service:Service")
def _private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    network = args.props.get("networkConfiguration")
    if not isinstance(network, dict):
        report("service has no awsvpc network configuration: tasks must run in private subnets")
    elif network.get("assignPublicIp") is True:
        report("service assigns public IPs to tasks: set assign_public_ip=False")


@for_types("aws:ecs/taskDefinition:TaskDefinition")
def _digest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in _containers(args.props):
        image = str(container.get("image", ""))
        if not DIGEST.search(image):
            report(f"container {container.get('name')!r} image {image!r} is not pinned by digest")


@for_types("aws:ecs/service:Service")
def _deployments(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    breaker = props.get("deploymentCircuitBreaker") or {}
    if not (breaker.get("enable") and breaker.get("rollback")):
        report("deployment circuit breaker must be enabled with rollback")
    strategy = (props.get("deploymentConfiguration") or {}).get("strategy", "ROLLING")
    if strategy == "BLUE_GREEN":
        if "bakeTimeInMinutes" not in (props.get("deploymentConfiguration") or {}):
            report("blue/green deployment needs an explicit bake time")
    else:
        if props.get("deploymentMinimumHealthyPercent", 0) < 100:
            report("rolling deployment must keep 100% healthy (deployment_minimum_healthy_percent)")
        if props.get("deploymentMaximumPercent", 0) < 200:
            report(
                "rolling deployment must allow 200% (deployment_maximum_percent): a full new set"
            )
    if props.get("loadBalancers"):
        alarms = props.get("alarms") or {}
        if not (alarms.get("enable") and alarms.get("rollback") and alarms.get("alarmNames")):
            report("a service behind a load balancer needs deployment alarms with rollback")
        if not props.get("healthCheckGracePeriodSeconds"):
            report("a service behind a load balancer needs a health-check grace period")


@for_types("aws:ecs/taskDefinition:TaskDefinition")
def _stop_timeout(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in _containers(args.props):
        stop_timeout = container.get("stopTimeout", 30)
        if stop_timeout > FARGATE_MAX_STOP_TIMEOUT:
            report(f"container {container.get('name')!r}: stopTimeout {stop_timeout} > 120 s")
        env = {e.get("name"): e.get("value") for e in container.get("environment") or []}
        for key in DRAIN_SETTINGS:
            if key in env and int(env[key]) >= stop_timeout:
                report(
                    f"container {container.get('name')!r}: {key}={env[key]} must be below "
                    f"stopTimeout={stop_timeout}, or SIGKILL cuts the drain short"
                )


@for_types("aws:ecs/service:Service")
def _production_capacity(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if tag(args.props, "environment") == "production" and args.props.get("desiredCount", 0) < 2:
        report("a production service runs at least 2 tasks")


ECS_TASKS_PRIVATE = ResourceValidationPolicy(
    name="ecs-tasks-private",
    description="ECS tasks run in the VPC without public IP addresses.",
    validate=_private,
)
ECS_IMAGE_BY_DIGEST = ResourceValidationPolicy(
    name="ecs-image-by-digest",
    description="Task definitions reference images by digest, never by a movable tag.",
    validate=_digest,
)
ECS_SAFE_DEPLOYMENTS = ResourceValidationPolicy(
    name="ecs-safe-deployments",
    description="Rolling 100/200 with circuit-breaker rollback and alarm rollback, or blue/green.",
    validate=_deployments,
)
ECS_STOP_TIMEOUT_COVERS_DRAIN = ResourceValidationPolicy(
    name="ecs-stop-timeout-covers-drain",
    description="Containers drain within stopTimeout (at most 120 s).",
    validate=_stop_timeout,
)
ECS_PRODUCTION_CAPACITY = ResourceValidationPolicy(
    name="ecs-production-capacity",
    description="Production services run at least two tasks.",
    validate=_production_capacity,
)
