"""Services added, replaced or refused by editing a copy of services.yaml only (docs/adapting.md).

Each evaluation runs the real program (`infra.program.build`) under the offline harness's mocks
(tools/plan), with the stack file's settings and a declaration read from a copy of the
repository's services.yaml: nothing under platform/infra/ is edited, which is the promise.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from infra.config import parse_stack_config
from infra.program import build
from infra.service_declaration import (
    ALB_CONDITION_VALUES_PER_RULE,
    ALB_CONDITION_WILDCARDS_PER_RULE,
    ALB_MATCH_EVALUATIONS_PER_CONDITION,
    DECLARATION_FILE,
    DeclarationError,
    load_declaration,
    patterns_intersect,
    resolve,
)
from scripts.deploy.run_migration import declared_tasks, targets_from_outputs
from scripts.trust.policy_evaluation import Request, evaluate_identity
from service.messaging.topology import ORDER_NOTIFICATIONS_QUEUE, TOPOLOGY
from tools.plan.offline import (
    ACCOUNT_ID,
    EvaluatedStack,
    ProgramRun,
    raw_stack_config,
    run_under_mocks,
)

from .conftest import STAGING_DIGEST
from .queries import (
    alarm_metrics,
    container,
    environment,
    role_policy_of,
    secrets,
    statements,
    task_definition,
)

STACK = "staging"
PREFIX = f"shipyard-{STACK}"

# Another image, pushed to the shared repository the stacks pull from.
REPORTS_IMAGE = f"{STAGING_DIGEST.split('@')[0]}@sha256:{'cd' * 32}"
# A second, different service: another image and command, its own size, fed by another queue, no
# database.
REPORTS = {
    "kind": "worker",
    "image": REPORTS_IMAGE,
    "command": ["python", "-m", "reports", "consume"],
    "size": {"cpu": 512, "memory": 1024, "min_tasks": 1, "max_tasks": 3},
    "stacks": {"prod": {"min_tasks": 2}},
    "environment": {"REPORTS_FORMAT": "csv"},
    "consumes": [ORDER_NOTIFICATIONS_QUEUE],
}
# A second, different web service: another image, command, port, health path and paths, its own
# size; under blue/green (both stack files) and rolling.
REPORTS_WEB = {
    "kind": "web",
    "image": REPORTS_IMAGE,
    # 0.0.0.0 inside the task's own network namespace, as the platform's HOST says.
    "command": ["python", "-m", "reports", "serve", "--port", "9100"],
    "port": 9100,
    "health_path": "/reports/healthz",
    "paths": ["/reports/*", "/exports/*"],
    "size": {"cpu": 512, "memory": 1024, "min_tasks": 1, "max_tasks": 4},
    "stacks": {"prod": {"min_tasks": 2}},
}
# A scheduled chore: a one-off command run every night, with the database and nothing else.
NIGHTLY = {
    "kind": "scheduled",
    "command": ["python", "-m", "service", "prune-logins"],
    "schedule": "cron(30 3 * * ? *)",
    "database": True,
    "database_connections": 2,
}
# A second one-off task: the deploy runs every task before the services roll, in declaration order.
BACKFILL = {
    "kind": "task",
    "command": ["python", "-m", "service", "backfill"],
    "database": True,
    "database_connections": 1,
}
# "My service is a container that listens on a port": the demo's api replaced by another one.
SHOP = {
    "kind": "web",
    # 0.0.0.0 inside the task's own network namespace, as the platform's HOST says.
    "command": ["uvicorn", "shop.main:app", "--host", "0.0.0.0", "--port", "9000"],  # noqa: S104
    "port": 9000,
    "health_path": "/health",
    "paths": ["/shop/*", "/health"],
    "size": {"cpu": 512, "memory": 1024, "min_tasks": 1, "max_tasks": 2},
}


def declaration_copy(tmp: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """services.yaml copied to `tmp` and changed by `edit`: the user's edit, and only that (in
    the file's order: tasks run and listener rules rank in declaration order)."""
    data = yaml.safe_load(DECLARATION_FILE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp / "services.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")  # order matters
    return path


def run_with(path: Path, **settings: str) -> ProgramRun:
    """The program, as platform/__main__.py runs it, reading the declaration at `path` (and the
    stack file's settings, some overridden: `deployment_strategy="rolling"`)."""
    raw = stack_settings(settings)
    config = parse_stack_config(raw, STACK)

    def program() -> None:
        declaration = load_declaration(TOPOLOGY, path)
        for name, value in build(config, declaration=declaration).items():
            pulumi.export(name, value)

    return run_under_mocks(program, stack=STACK, raw_config=raw)


def stack_settings(settings: dict[str, str]) -> dict[str, Any]:
    return raw_stack_config(STACK, {f"shipyard:{k}": v for k, v in settings.items()})


def evaluated_with(path: Path, **settings: str) -> EvaluatedStack:
    run = run_with(path, **settings)
    if run.error is not None:
        raise run.error
    raw = stack_settings(settings)
    return EvaluatedStack(
        stack=STACK,
        config=parse_stack_config(raw, STACK),
        resources=run.resources,
        outputs=run.outputs,
        invokes=run.invokes,
    )


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> EvaluatedStack:
    """The demo plus a `reports` worker and a `nightly` scheduled task."""

    def add(data: dict[str, Any]) -> None:
        data["services"]["reports"] = REPORTS
        data["services"]["nightly"] = NIGHTLY

    return evaluated_with(declaration_copy(tmp_path_factory.mktemp("added"), add))


@pytest.fixture(scope="module")
def replaced(tmp_path_factory: pytest.TempPathFactory) -> EvaluatedStack:
    """The demo's web service replaced by `shop`, another command, port and health path."""

    def replace(data: dict[str, Any]) -> None:
        del data["services"]["api"]
        data["services"]["shop"] = SHOP

    return evaluated_with(declaration_copy(tmp_path_factory.mktemp("replaced"), replace))


def _add_reports_web(data: dict[str, Any]) -> None:
    data["services"]["reports"] = REPORTS_WEB


@pytest.fixture(scope="module")
def two_webs(tmp_path_factory: pytest.TempPathFactory) -> EvaluatedStack:
    """The demo plus the `reports` web service, on the stack file's blue/green deployments."""
    path = declaration_copy(tmp_path_factory.mktemp("two-webs"), _add_reports_web)
    stack = evaluated_with(path)
    assert stack.config.deployment_strategy == "blue_green", "the stack file deploys blue/green"
    return stack


@pytest.fixture(scope="module")
def two_webs_rolling(tmp_path_factory: pytest.TempPathFactory) -> EvaluatedStack:
    """The same declaration with `deployment_strategy: rolling`."""
    path = declaration_copy(tmp_path_factory.mktemp("two-webs-rolling"), _add_reports_web)
    return evaluated_with(path, deployment_strategy="rolling")


def resource_id(stack: EvaluatedStack, rtype: str, name: str) -> str:
    return str(stack.named(rtype, name).state["id"])


# --- step 2 of docs/adapting.md: a web service of your own ----------------------------------------


def test_replace_web_service_plans_its_command_port_and_health_check(
    replaced: EvaluatedStack,
) -> None:
    shop = container(replaced, "shop")
    assert shop["command"] == SHOP["command"]
    assert shop["portMappings"][0]["containerPort"] == 9000
    assert "http://127.0.0.1:9000/health" in " ".join(shop["healthCheck"]["command"])
    assert environment(replaced, "shop")["PORT"] == "9000"
    definition = task_definition(replaced, "shop")
    assert (definition.inputs["cpu"], definition.inputs["memory"]) == ("512", "1024")

    # the load balancer's target group checks the declared path on the declared port
    groups = replaced.of_type("aws:lb/targetGroup:TargetGroup")
    assert groups
    assert all(g.inputs["port"] == 9000 for g in groups)
    assert all(g.inputs["healthCheck"]["path"] == "/health" for g in groups)
    (service,) = [
        s for s in replaced.of_type("aws:ecs/service:Service") if s.name == "services-shop"
    ]
    assert service.inputs["loadBalancers"][0]["containerName"] == "shop"
    assert service.inputs["loadBalancers"][0]["containerPort"] == 9000
    ingress = replaced.named(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "task-security-groups-shop-from-alb",
    )
    assert (ingress.inputs["fromPort"], ingress.inputs["toPort"]) == (9000, 9000)
    # the ALB may reach the tasks on that port only
    (egress,) = [
        r
        for r in replaced.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r.name.startswith("load-balancer-to-tasks")
    ]
    assert (egress.inputs["fromPort"], egress.inputs["toPort"]) == (9000, 9000)
    # its rule forwards its own paths; CloudFront sends exactly those to the load balancer
    (rule,) = replaced.of_type("aws:lb/listenerRule:ListenerRule")
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": SHOP["paths"]}}]
    (distribution,) = replaced.of_type("aws:cloudfront/distribution:Distribution")
    behaviours = distribution.inputs["orderedCacheBehaviors"]
    assert [b["pathPattern"] for b in behaviours] == SHOP["paths"]

    log_group = replaced.named("aws:cloudwatch/logGroup:LogGroup", "observability-shop")
    assert log_group.inputs["name"] == f"/shipyard/{STACK}/shop"
    # The deploy scripts' contract (the `services` output) names the web service whatever it is
    # called: verify_rollout.py verifies it as it did the api.
    assert replaced.outputs["services"]["shop"]["kind"] == "web"
    assert replaced.outputs["services"]["shop"]["service_name"] == f"{PREFIX}-shop"
    # No api left anywhere: nothing in the platform named it.
    assert not [r for r in replaced.resources if r.name.endswith("-api") and "ecs" in r.type]
    # It declared no database, topics or queues: no task role, no DB settings.
    assert not [r for r in replaced.of_type("aws:iam/role:Role") if r.name == "task-roles-shop"]
    assert not any(k.startswith("DB_") for k in environment(replaced, "shop"))


# --- step 2b: a second web service beside the first ----------------------------------------------

TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def web_service(stack: EvaluatedStack, name: str) -> dict[str, Any]:
    return stack.named("aws:ecs/service:Service", f"services-{name}").inputs


def alarms_named(stack: EvaluatedStack, names: list[str]) -> list[Any]:
    by_name = {a.inputs["name"]: a for a in stack.of_type(ALARM)}
    return [by_name[name] for name in names]


def test_second_web_service_gets_its_own_container_target_groups_and_rule(
    two_webs: EvaluatedStack,
) -> None:
    reports = container(two_webs, "reports")
    assert reports["image"] == REPORTS_IMAGE
    assert reports["command"] == REPORTS_WEB["command"]
    assert reports["portMappings"][0]["containerPort"] == 9100
    assert container(two_webs, "api")["portMappings"][0]["containerPort"] == 8000

    # its own target groups (blue/green: two), on its port, checking its health path
    main, alternate = (
        two_webs.named(TARGET_GROUP, "load-balancer-reports"),
        two_webs.named(TARGET_GROUP, "load-balancer-reports-alt"),
    )
    for group in (main, alternate):
        assert group.inputs["port"] == 9100
        assert group.inputs["healthCheck"]["path"] == "/reports/healthz"
    api_group = two_webs.named(TARGET_GROUP, "load-balancer-api")
    assert (api_group.inputs["port"], api_group.inputs["healthCheck"]["path"]) == (8000, "/healthz")
    assert len(two_webs.of_type(TARGET_GROUP)) == 4

    # its own rule, matching its paths only, after the api's (10, 20: declaration order)
    rule = two_webs.named(RULE, "load-balancer-reports-forward")
    api_rule = two_webs.named(RULE, "load-balancer-api-forward")
    assert (api_rule.inputs["priority"], rule.inputs["priority"]) == (10, 20)
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": REPORTS_WEB["paths"]}}]
    assert api_rule.inputs["conditions"] == [
        {"pathPattern": {"values": ["/api/*", "/healthz", "/readyz"]}}
    ]
    weights = rule.inputs["actions"][0]["forward"]["targetGroups"]
    assert weights == [
        {"arn": main.state["arn"], "weight": 100},
        {"arn": alternate.state["arn"], "weight": 0},
    ]
    assert rule.inputs["listenerArn"] == api_rule.inputs["listenerArn"], "one listener"
    assert len(two_webs.of_type("aws:lb/loadBalancer:LoadBalancer")) == 1

    # CloudFront: one behaviour per declared path, in declaration order, all to the ALB
    (distribution,) = two_webs.of_type("aws:cloudfront/distribution:Distribution")
    behaviours = distribution.inputs["orderedCacheBehaviors"]
    assert [b["pathPattern"] for b in behaviours] == [
        "/api/*", "/healthz", "/readyz", "/reports/*", "/exports/*",
    ]  # fmt: skip
    assert {b["targetOriginId"] for b in behaviours} == {"api"}  # the ALB origin's id
    assert two_webs.outputs["services"]["reports"]["paths"] == REPORTS_WEB["paths"]
    assert two_webs.outputs["services"]["api"]["paths"] == ["/api/*", "/healthz", "/readyz"]
    # the deploy scripts find both web services through the `services` output
    assert two_webs.outputs["services"]["reports"]["service_name"] == f"{PREFIX}-reports"
    assert two_webs.outputs["services"]["api"]["service_name"] == f"{PREFIX}-api"


def test_second_web_service_is_an_ecs_service_wired_to_its_groups_blue_green(
    two_webs: EvaluatedStack,
) -> None:
    inputs = web_service(two_webs, "reports")
    assert inputs["name"] == f"{PREFIX}-reports"
    (balancer,) = inputs["loadBalancers"]
    assert (balancer["containerName"], balancer["containerPort"]) == ("reports", 9100)
    main = two_webs.named(TARGET_GROUP, "load-balancer-reports")
    alternate = two_webs.named(TARGET_GROUP, "load-balancer-reports-alt")
    assert balancer["targetGroupArn"] == main.state["arn"]
    advanced = balancer["advancedConfiguration"]
    assert advanced["alternateTargetGroupArn"] == alternate.state["arn"]
    rule = two_webs.named(RULE, "load-balancer-reports-forward")
    assert advanced["productionListenerRule"] == rule.state["arn"]
    # one ECS load-balancer role, shared by both web services
    api_advanced = web_service(two_webs, "api")["loadBalancers"][0]["advancedConfiguration"]
    assert advanced["roleArn"] == api_advanced["roleArn"]
    assert [r.name for r in two_webs.of_type("aws:iam/role:Role") if "ecs-lb" in r.name] == [
        "services-ecs-lb"
    ]
    assert inputs["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    assert (
        inputs["healthCheckGracePeriodSeconds"] == two_webs.config.health_check_grace_period_seconds
    )
    target = two_webs.named("aws:appautoscaling/target:Target", "services-reports-scaling").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 4)
    assert two_webs.named("aws:appautoscaling/policy:Policy", "services-reports-cpu")
    # the ALB may reach the reports tasks on their port only, and each port is let out once
    ingress = two_webs.named(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "task-security-groups-reports-from-alb",
    )
    assert (ingress.inputs["fromPort"], ingress.inputs["toPort"]) == (9100, 9100)
    lb_group = two_webs.named("aws:ec2/securityGroup:SecurityGroup", "load-balancer-sg")
    assert ingress.inputs["referencedSecurityGroupId"] == lb_group.state["id"]
    egress = {
        (r.inputs["fromPort"], r.inputs["toPort"])
        for r in two_webs.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r.name.startswith("load-balancer-to-tasks")
    }
    assert egress == {(8000, 8000), (9100, 9100)}


def test_each_web_service_deployment_alarms_watch_only_its_target_groups(
    two_webs: EvaluatedStack,
) -> None:
    """A bad release of one web service never rolls back the other: disjoint target groups."""

    def groups_watched(name: str) -> set[str]:
        names = web_service(two_webs, name)["alarms"]["alarmNames"]
        watched = set()
        for alarm in alarms_named(two_webs, names):
            for _, dimensions in alarm_metrics(alarm):
                assert "TargetGroup" in dimensions, f"{alarm.urn} watches the whole balancer"
                watched.add(dimensions["TargetGroup"])
        return watched

    def suffixes(*names: str) -> set[str]:
        return {two_webs.named(TARGET_GROUP, n).state["arnSuffix"] for n in names}

    reports_names = web_service(two_webs, "reports")["alarms"]["alarmNames"]
    assert reports_names == [f"{PREFIX}-reports-target-5xx", f"{PREFIX}-reports-p95-latency"]
    # under blue/green each alarm sums (or takes the larger of) both of the service's groups
    assert groups_watched("reports") == suffixes(
        "load-balancer-reports", "load-balancer-reports-alt"
    )
    assert groups_watched("api") == suffixes("load-balancer-api", "load-balancer-api-alt")
    errors = alarms_named(two_webs, [f"{PREFIX}-reports-target-5xx"])[0]
    (combined,) = [q for q in errors.inputs["metricQueries"] if q.get("returnData")]
    assert combined["expression"] == "SUM([FILL(group0, 0), FILL(group1, 0)])"
    # the balancer's own 5xx has no target-group dimension: with two web services it pages only
    elb = alarms_named(two_webs, [f"{PREFIX}-api-elb-5xx"])[0]
    assert elb.inputs["metricName"] == "HTTPCode_ELB_5XX_Count"
    assert elb.inputs["alarmActions"], "it still pages"
    assert elb.inputs["name"] not in web_service(two_webs, "api")["alarms"]["alarmNames"]


def test_second_web_service_rolling_scales_on_its_own_target_group(
    two_webs_rolling: EvaluatedStack,
) -> None:
    stack = two_webs_rolling
    inputs = web_service(stack, "reports")
    assert inputs["deploymentConfiguration"] == {"strategy": "ROLLING"}
    group = stack.named(TARGET_GROUP, "load-balancer-reports")
    (balancer,) = inputs["loadBalancers"]
    assert balancer["targetGroupArn"] == group.state["arn"]
    assert "advancedConfiguration" not in balancer
    assert not [g for g in stack.of_type(TARGET_GROUP) if g.name.endswith("-alt")]
    assert not [r for r in stack.of_type("aws:iam/role:Role") if "ecs-lb" in r.name]
    rule = stack.named(RULE, "load-balancer-reports-forward")
    assert rule.inputs["actions"] == [{"type": "forward", "targetGroupArn": group.state["arn"]}]
    policy = stack.named("aws:appautoscaling/policy:Policy", "services-reports-requests")
    label = policy.inputs["targetTrackingScalingPolicyConfiguration"][
        "predefinedMetricSpecification"
    ]["resourceLabel"]
    assert label.endswith("/" + group.state["arnSuffix"])
    api_label = stack.named("aws:appautoscaling/policy:Policy", "services-api-requests").inputs[
        "targetTrackingScalingPolicyConfiguration"
    ]["predefinedMetricSpecification"]["resourceLabel"]
    assert api_label.endswith(
        "/" + stack.named(TARGET_GROUP, "load-balancer-api").state["arnSuffix"]
    )
    (errors,) = alarms_named(stack, [f"{PREFIX}-reports-target-5xx"])
    balancer_suffix = stack.named("aws:lb/loadBalancer:LoadBalancer", "load-balancer-alb").state[
        "arnSuffix"
    ]
    assert alarm_metrics(errors) == [
        (
            "HTTPCode_Target_5XX_Count",
            {"TargetGroup": group.state["arnSuffix"], "LoadBalancer": balancer_suffix},
        )
    ]


def test_one_web_service_keeps_its_balancer_5xx_as_a_deployment_alarm_control(
    stack: EvaluatedStack,
) -> None:
    """Control for the rule above: alone behind the balancer, the demo's api is gated by it."""
    names = stack.named("aws:ecs/service:Service", "services-api").inputs["alarms"]["alarmNames"]
    prefix = stack.config.prefix
    assert names == [
        f"{prefix}-api-target-5xx",
        f"{prefix}-api-elb-5xx",
        f"{prefix}-api-p95-latency",
    ]


# --- step 3: a worker fed by a queue -------------------------------------------------------------


def test_add_worker_plans_service_scaling_log_group_and_only_its_grants(
    added: EvaluatedStack,
) -> None:
    reports = container(added, "reports")
    assert reports["command"] == REPORTS["command"]
    assert reports["image"] == REPORTS_IMAGE
    assert container(added, "api")["image"] != REPORTS_IMAGE, "the others keep the built image"
    assert "portMappings" not in reports
    env = environment(added, "reports")
    assert env["REPORTS_FORMAT"] == "csv"
    queue = TOPOLOGY.queue(ORDER_NOTIFICATIONS_QUEUE)
    assert env[str(queue.env_var)].startswith("https://sqs.")
    assert env["WORKER_VISIBILITY_TIMEOUT_SECONDS"] == str(queue.visibility_timeout_seconds)
    assert not any(k.startswith("DB_") for k in env), "it declared no database"
    assert secrets(added, "reports") == {}, "it declared no secrets"
    definition = task_definition(added, "reports")
    assert (definition.inputs["cpu"], definition.inputs["memory"]) == ("512", "1024")

    service = added.named("aws:ecs/service:Service", "services-reports")
    assert service.inputs["name"] == f"{PREFIX}-reports"
    assert "loadBalancers" not in service.inputs
    target = added.named("aws:appautoscaling/target:Target", "services-reports-scaling").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 3)
    backlog = added.named("aws:appautoscaling/policy:Policy", "services-reports-backlog")
    metrics = backlog.inputs["targetTrackingScalingPolicyConfiguration"][
        "customizedMetricSpecification"
    ]["metrics"]
    assert metrics[0]["metricStat"]["metric"]["dimensions"] == [
        {"name": "QueueName", "value": queue.physical_name(PREFIX)}
    ]
    assert added.named("aws:cloudwatch/logGroup:LogGroup", "observability-reports")
    assert added.named("aws:cloudwatch/metricAlarm:MetricAlarm", "observability-reports-cpu-high")

    # Its role: consume its own queue, and nothing else (no topic, no secret, no other queue).
    policy = role_policy_of(added, "task-roles-reports")
    (grant,) = statements(policy)
    assert grant["Sid"] == "ConsumeOwnQueues"
    assert grant["Resource"] == [
        f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:{queue.physical_name(PREFIX)}"
    ]
    assert added.outputs["services"]["reports"]["service_name"] == f"{PREFIX}-reports"
    # The demo's own entries are untouched by the addition.
    assert added.outputs["services"]["worker"]["service_name"] == f"{PREFIX}-worker"


def test_stack_override_sizes_a_declared_service_per_stack(tmp_path: Path) -> None:
    """`stacks: {prod: {min_tasks: 2}}` changes prod only (the rule in services.yaml's header)."""
    declaration = load_declaration(
        TOPOLOGY,
        declaration_copy(tmp_path, lambda d: d["services"].__setitem__("reports", REPORTS)),
    )
    staging = parse_stack_config(raw_stack_config("staging"), "staging")
    prod = parse_stack_config(raw_stack_config("prod"), "prod")
    reports = declaration.services["reports"]
    assert reports.sizing(staging).min_tasks == 1
    assert reports.sizing(prod).min_tasks == 2
    # the demo's services keep reading the stack files' shipyard:api_* / worker_* keys
    assert declaration.services["api"].sizing(prod) == prod.api
    assert declaration.services["migrate"].sizing(prod) == prod.worker


# --- step 4: a scheduled task ---------------------------------------------------------------------


def test_add_scheduled_task_plans_a_schedule_that_runs_only_its_task(
    added: EvaluatedStack,
) -> None:
    schedule = added.named("aws:scheduler/schedule:Schedule", "scheduled-tasks-nightly")
    assert schedule.inputs["scheduleExpression"] == NIGHTLY["schedule"]
    target = schedule.inputs["target"]
    nightly = task_definition(added, "nightly")
    cluster = added.named("aws:ecs/cluster:Cluster", "compute-cluster")
    assert target["arn"] == cluster.state["arn"]
    assert target["ecsParameters"]["taskDefinitionArn"] == nightly.state["arn"]
    assert target["ecsParameters"]["networkConfiguration"]["assignPublicIp"] is False
    assert container(added, "nightly")["command"] == NIGHTLY["command"]
    assert environment(added, "nightly")["DB_HOST"], "it declared the database"
    assert added.outputs["services"]["nightly"]["schedule_name"] == f"{PREFIX}-nightly"
    assert not [s for s in added.of_type("aws:ecs/service:Service") if "nightly" in s.name]

    # The scheduler's role: trusted by EventBridge Scheduler of this account only ...
    role = added.named("aws:iam/role:Role", "scheduled-tasks-nightly")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (assume,) = statements(trust)
    assert assume["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in assume["Condition"]["StringEquals"]
    # ... may run this task's family in this cluster ...
    policy = role_policy_of(added, "scheduled-tasks-nightly")
    (run_task,) = [s for s in statements(policy) if "ecs:RunTask" in s["Action"]]
    assert run_task["Resource"] == [nightly.state["arnWithoutRevision"] + ":*"]
    assert run_task["Condition"] == {"ArnEquals": {"ecs:cluster": cluster.state["arn"]}}

    # ... and pass exactly this task's roles, to ECS tasks, and no other (IAM's own evaluation).
    execution = added.named("aws:iam/role:Role", "task-roles-execution").state["arn"]
    assert nightly.inputs.get("taskRoleArn") is None, "a short task with no grants has no role"
    others = [
        r.state["arn"]
        for r in added.of_type("aws:iam/role:Role")
        if r.name.startswith("task-roles-") and r.state["arn"] != execution
    ]
    assert others, "the api's and worker's task roles exist to be refused"

    def may_pass(role_arn: str, to_service: str = "ecs-tasks.amazonaws.com") -> bool:
        request = Request(
            action="iam:PassRole",
            principal={"AWS": role.state["arn"]},
            resource=role_arn,
            context={"iam:PassedToService": to_service},
        )
        return evaluate_identity([policy], request).allowed

    assert may_pass(execution)
    assert not any(may_pass(other) for other in others)
    assert not may_pass(execution, to_service="lambda.amazonaws.com")


def test_add_task_plans_a_one_off_the_deploy_runs_after_the_ones_before_it(tmp_path: Path) -> None:
    """A `task` added by declaration only: its task definition, security group (admitted by the
    database), log group and `services` entry, no ECS service or schedule; and the deploy's own
    reader (scripts/deploy/run_migration.py) turns the copy's declaration and the stack's outputs
    into the runs it makes: migrate, then backfill, each in its own network."""
    path = declaration_copy(
        tmp_path, lambda data: data["services"].__setitem__("backfill", BACKFILL)
    )
    stack = evaluated_with(path)

    definition = task_definition(stack, "backfill")
    assert container(stack, "backfill")["command"] == BACKFILL["command"]
    assert environment(stack, "backfill")["DB_HOST"], "it declared the database"
    entry = stack.outputs["services"]["backfill"]
    assert entry["kind"] == "task"
    assert entry["task_definition_arn"] == definition.state["arn"]
    assert (entry["service_name"], entry["schedule_name"]) == (None, None)
    assert entry["log_group_name"] == f"/shipyard/{STACK}/backfill"
    assert not [s for s in stack.of_type("aws:ecs/service:Service") if "backfill" in s.name]
    assert not [s for s in stack.of_type("aws:scheduler/schedule:Schedule") if "backfill" in s.name]
    (group_id,) = entry["network"]["security_groups"]
    assert group_id != stack.outputs["services"]["migrate"]["network"]["security_groups"][0]
    admitted = stack.named("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                           "database-from-backfill")  # fmt: skip
    assert admitted.inputs["referencedSecurityGroupId"] == group_id

    wanted = declared_tasks(path)
    assert wanted == ["migrate", "backfill"]
    targets, missing = targets_from_outputs(stack.outputs, wanted, log=lambda _: None)
    assert missing == []
    assert [(t.name, t.task_definition) for t in targets] == [
        ("migrate", f"{PREFIX}-migrate"),
        ("backfill", f"{PREFIX}-backfill"),
    ]
    assert list(targets[1].security_groups) == [group_id]


def test_scheduled_task_may_pass_its_own_task_role_when_it_has_one(tmp_path: Path) -> None:
    """A scheduled task with grants has a task role; its schedule may pass that one too."""
    declaration = load_declaration(
        TOPOLOGY,
        declaration_copy(
            tmp_path,
            lambda d: d["services"].__setitem__(
                "digest", {**NIGHTLY, "database": False, "publishes": ["order-events"]}
            ),
        ),
    )
    assert declaration.services["digest"].publishes == ("order-events",)
    stack = evaluated_with(tmp_path / "services.yaml")
    own = stack.named("aws:iam/role:Role", "task-roles-digest").state["arn"]
    assert task_definition(stack, "digest").inputs["taskRoleArn"] == own
    (pass_role,) = [
        s
        for s in statements(role_policy_of(stack, "scheduled-tasks-digest"))
        if s["Action"] == ["iam:PassRole"]
    ]
    execution = stack.named("aws:iam/role:Role", "task-roles-execution").state["arn"]
    assert sorted(pass_role["Resource"]) == sorted([execution, own])


# --- step 1: a wrong declaration stops before anything is planned ---------------------------------


def _set(service: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        entry = copy.deepcopy(data["services"].get(service, REPORTS))
        entry.update(fields)
        data["services"][service] = {k: v for k, v in entry.items() if v is not None}

    return edit


def _web(**fields: Any) -> Callable[[dict[str, Any]], None]:
    """`reports` declared as the second web service (REPORTS_WEB), with `fields` changed."""

    def edit(data: dict[str, Any]) -> None:
        entry = {**REPORTS_WEB, **fields}
        data["services"]["reports"] = {k: v for k, v in entry.items() if v is not None}

    return edit


def _no_web_service(data: dict[str, Any]) -> None:
    api = data["services"]["api"]
    for field in ("port", "health_path", "paths"):
        del api[field]
    api.update(kind="worker", consumes=["order-processing"])


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_set("reports", kind="daemon"), "services.reports.kind"),
        (_set("api", port=None), "services.api.port: a web service needs the port"),
        (_set("reports", publishes=["invoices"]), "services.reports.publishes: 'invoices'"),
        (_set("reports", consumes=["invoice-queue"]), "services.reports.consumes: 'invoice-queue'"),
        (_set("reports", port=8080), "services.reports.port/health_path: only a web service"),
        (_set("nightly", **{**NIGHTLY, "schedule": "every night"}), "services.nightly.schedule"),
        (_set("nightly", **{**NIGHTLY, "schedule": "cron(30 3 * * *)"}), "'cron(30 3 * * *)' is"),
        (_set("nightly", **{**NIGHTLY, "schedule": "rate(0 minutes)"}), "'rate(0 minutes)' is"),
        (_set("nightly", **{**NIGHTLY, "schedule": "at(2027-01-01)"}), "'at(2027-01-01)' is not"),
        (_set("worker", environment={"PORT": "1"}), "services.worker.environment: PORT"),
        (_web(paths=None), "services.reports.paths: a web service needs the URL path patterns"),
        (_web(paths=["/api/v2/*"]), "services.reports.paths: '/api/v2/*' overlaps '/api/*' of"),
        (_web(paths=["/healthz"]), "services.reports.paths: '/healthz' overlaps '/healthz' of"),
        (_web(paths=["/ap*/v1"]), "services.reports.paths: '/ap*/v1' overlaps '/api/*' of"),
        (_web(paths=["/*"]), "services.reports.paths: '/*' would take every path"),
        (_web(paths=["/"]), "services.reports.paths: '/' would take every path"),
        (_web(paths=["/*.html"]), "services.reports.paths: '/*.html' would take every path or"),
        (_web(paths=[f"/r{i}/*" for i in range(4)]), "services.reports.paths: 4 patterns"),
        (_web(paths=["/a/*?", "/b/*?", "/c/*?"]), "services.reports.paths: 6 wildcards"),
        (_web(paths=["reports/*"]), "services.reports.paths: 'reports/*' is not a path pattern"),
        (_web(paths=["/reports/[a]"]), "services.reports.paths: '/reports/[a]' is not a path"),
        (_set("reports", paths=["/reports/*"]), "services.reports.paths: only a web service"),
        (_no_web_service, "services: no web service; declare at least one"),
        (_set("reports", image="nginx:latest"), "services.reports.image"),
        (
            _set("migrate", scaling={"cpu_target_percent": 50}),
            "services.migrate.scaling: only a web or worker service scales (this one is task)",
        ),
        (
            _web(scaling={"backlog_per_task_target": 5}),
            "services.reports.scaling.backlog_per_task_target: only a worker scales on a queue",
        ),
        (
            _set("reports", stacks={"prod": {"scaling": {"cpu_target_percent": 50}}}),
            "services.reports.stacks.prod.scaling.cpu_target_percent: a worker scales on its "
            "queue's backlog only",
        ),
        (
            _set("api", scaling={"cpu_target_percent": 50}),
            "services.api.scaling: stack_settings: api takes the scaling targets from the stack "
            "files too",
        ),
        (_web(scaling={"cpu_target_percent": 95}), "services.reports.scaling.cpu_target_percent"),
        (_set("reports", database=True), "services.reports.database_connections"),
        (
            _set("reports", image=REPORTS_IMAGE.replace("/shipyard@", "/elsewhere@")),
            "services.reports.image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/elsewhere@",
        ),
    ],
    ids=[
        "unknown-kind",
        "web-without-port",
        "unknown-topic",
        "unknown-queue",
        "worker-with-port",
        "bad-schedule",
        "unix-cron-of-five-fields",
        "rate-of-zero",
        "at-without-a-time",
        "platform-variable",
        "web-without-paths",
        "paths-overlap-another-service",
        "path-another-service-claims",
        "wildcards-on-both-sides-overlap",
        "path-takes-the-site",
        "path-is-the-root",
        "path-takes-the-site-index",
        "too-many-paths",
        "too-many-wildcards",
        "path-without-slash",
        "path-with-a-bracket",
        "worker-with-paths",
        "no-web-service",
        "image-by-tag",
        "task-with-scaling",
        "web-with-a-backlog-target",
        "worker-with-a-cpu-target-for-one-stack",
        "scaling-beside-stack-settings",
        "cpu-target-out-of-range",
        "database-without-connections",
        "image-outside-the-repository",
    ],
)
def test_bad_declaration_fails_before_any_resource_naming_the_entry(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    run = run_with(declaration_copy(tmp_path, edit))
    assert isinstance(run.error, DeclarationError), run.error
    assert expected in str(run.error)
    assert "nothing was deployed" in str(run.error)
    planned = [r for r in run.resources if r.type.startswith("aws:")]
    assert planned == [], "the declaration is read before the first resource"


def test_scaling_targets_are_per_service_and_per_stack(tmp_path: Path) -> None:
    """`scaling:` and `stacks.<stack>.scaling` set a service's own targets; a service that
    declares none (the demo's api, by its stack_settings) keeps the stack file's."""

    def edit(data: dict[str, Any]) -> None:
        _web(
            scaling={"cpu_target_percent": 45, "requests_per_task_target": 300},
            stacks={
                "prod": {"min_tasks": 2},
                STACK: {"scaling": {"requests_per_task_target": 250}},
            },
        )(data)
        data["services"]["report-feed"] = {**REPORTS, "scaling": {"backlog_per_task_target": 5}}

    stack = evaluated_with(declaration_copy(tmp_path, edit), deployment_strategy="rolling")

    def target(policy: str) -> Any:
        named = stack.named("aws:appautoscaling/policy:Policy", policy)
        return named.inputs["targetTrackingScalingPolicyConfiguration"]["targetValue"]

    assert target("services-reports-cpu") == 45  # its own
    assert target("services-reports-requests") == 250  # its own, overridden in this stack
    assert target("services-report-feed-backlog") == 5
    # the control: the demo's services keep the stack file's targets
    assert target("services-api-cpu") == stack.config.api_cpu_target_percent != 45
    assert target("services-api-requests") == stack.config.api_requests_per_task_target != 250
    assert target("services-worker-backlog") == stack.config.worker_backlog_per_task_target != 5


def test_unchanged_declaration_copy_evaluates_control(tmp_path: Path) -> None:
    """Control for the refusals above: the copy machinery itself yields a valid declaration."""
    run = run_with(declaration_copy(tmp_path, lambda data: None))
    assert run.error is None
    assert set(run.outputs["services"]) == {"api", "worker", "migrate", "prune-logins"}


def test_bad_declaration_names_every_problem_at_once(tmp_path: Path) -> None:
    def two_faults(data: dict[str, Any]) -> None:
        _set("reports", kind="daemon")(data)
        _set("api", port=None)(data)

    with pytest.raises(DeclarationError) as caught:
        load_declaration(TOPOLOGY, declaration_copy(tmp_path, two_faults))
    assert len(caught.value.problems) >= 2


def test_resolve_refuses_single_task_worker_in_production(tmp_path: Path) -> None:
    """A declared size is held to the stack's rules: production runs two tasks or more."""
    single = {k: v for k, v in REPORTS.items() if k != "stacks"}
    path = declaration_copy(tmp_path, lambda d: d["services"].__setitem__("reports", single))
    declaration = load_declaration(TOPOLOGY, path)
    prod = parse_stack_config(raw_stack_config("prod"), "prod")
    with pytest.raises(DeclarationError, match=r"services\.reports\.size \(stack prod\)"):
        resolve(declaration, prod)
    # control: with the per-stack override of REPORTS, prod resolves
    with_override = load_declaration(
        TOPOLOGY,
        declaration_copy(tmp_path, lambda d: d["services"].__setitem__("reports", REPORTS)),
    )
    assert resolve(with_override, prod)["reports"].sizing.min_tasks == 2


def test_resolve_counts_declared_database_connections_in_the_stack_limit(tmp_path: Path) -> None:
    """A declared service's connections add to the stack's in config.py's connection check."""
    staging = parse_stack_config(raw_stack_config("staging"), "staging")
    hungry = {**REPORTS, "database": True, "database_connections": 100}
    path = declaration_copy(tmp_path, lambda d: d["services"].__setitem__("reports", hungry))
    with pytest.raises(DeclarationError, match=r"above the \d+ that shipyard:db_instance_class"):
        resolve(load_declaration(TOPOLOGY, path), staging)
    # control: a modest pool fits the same stack
    modest = {**hungry, "database_connections": 3}
    path = declaration_copy(tmp_path, lambda d: d["services"].__setitem__("reports", modest))
    assert resolve(load_declaration(TOPOLOGY, path), staging)["reports"].spec.database


def test_resolve_refuses_a_name_whose_role_prefix_iam_would_refuse(tmp_path: Path) -> None:
    """IAM's name_prefix holds 38 characters; the stack's prefix and the service's name share it."""
    path = declaration_copy(
        tmp_path, lambda d: d["services"].__setitem__("reports-archive", REPORTS)
    )
    declaration = load_declaration(TOPOLOGY, path)
    raw = raw_stack_config("staging")
    longer = parse_stack_config(raw, "staging-eu-west")  # shipyard-staging-eu-west-reports-archive-
    with pytest.raises(DeclarationError, match=r"services\.reports-archive: the role name prefix"):
        resolve(declaration, longer)
    # control: the same declaration in the stack `staging` (33 characters) resolves
    assert "reports-archive" in resolve(declaration, parse_stack_config(raw, "staging"))


@pytest.mark.parametrize(
    "expression",
    ["rate(1 hour)", "rate(15 minutes)", "cron(30 3 * * ? *)", "at(2027-01-01T00:00:00)"],
)
def test_scheduler_expression_forms_are_accepted_control(tmp_path: Path, expression: str) -> None:
    """Controls for the schedule refusals: each of Scheduler's three documented forms passes."""
    path = declaration_copy(tmp_path, _set("nightly", **{**NIGHTLY, "schedule": expression}))
    assert load_declaration(TOPOLOGY, path).services["nightly"].schedule == expression


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("/api/*", "/api/v2/*", True),  # /api/v2/x
        ("/a*b", "/ab*", True),  # /abb: each has a wildcard the other lacks
        ("/r?/x", "/r1/*", True),  # /r1/x
        ("/*.css", "/img/*", True),  # /img/a.css (ALB's and CloudFront's * crosses /)
        # controls: no path matches both
        ("/api", "/api/*", False),  # /api/* needs the slash
        ("/api", "/apiary/*", False),
        ("/x*y", "/x*z", False),
        ("/r?", "/rab", False),
    ],
)
def test_patterns_intersect_when_some_path_matches_both(
    first: str, second: str, shared: bool
) -> None:
    assert patterns_intersect(first, second) is shared
    assert patterns_intersect(second, first) is shared


def test_paths_at_the_limits_are_accepted_control(tmp_path: Path) -> None:
    """Controls for the path refusals: three patterns with five wildcards, and patterns that
    share a prefix without overlapping (`/api` is not `/api/*`), pass."""
    at_the_limit = ["/r1/*?", "/r2/*?", "/r3/?"]
    path = declaration_copy(tmp_path, _web(paths=at_the_limit))
    assert load_declaration(TOPOLOGY, path).services["reports"].paths == tuple(at_the_limit)
    beside = ["/api", "/apiary/*", "/reports/*"]
    path = declaration_copy(tmp_path, _web(paths=beside))
    assert load_declaration(TOPOLOGY, path).services["reports"].paths == tuple(beside)


CONDITION_FIELDS = ("hostHeader", "httpHeader", "httpRequestMethod", "pathPattern", "queryString",
                    "sourceIp")  # fmt: skip


def alb_rule_limit_problems(conditions: list[dict[str, Any]]) -> list[str]:
    """A listener rule's conditions against AWS's limits: at most 3 match evaluations per
    condition and 5 per rule (ELB, "Condition types for listener rules", Condition basics), at
    most 5 wildcards per rule ("Quotas for your Application Load Balancers"); the URLs are in
    infra/service_declaration.py. A query-string value is a key/value pair: it counts once."""
    problems = []
    values_in_rule: list[str] = []
    for condition in conditions:
        (field,) = [f for f in CONDITION_FIELDS if f in condition]
        values = [
            v if isinstance(v, str) else f"{v.get('key', '')}={v['value']}"
            for v in condition[field]["values"]
        ]
        if len(values) > ALB_MATCH_EVALUATIONS_PER_CONDITION:
            problems.append(f"{field}: {len(values)} values in one condition")
        values_in_rule += values
    if len(values_in_rule) > ALB_CONDITION_VALUES_PER_RULE:
        problems.append(f"{len(values_in_rule)} values in the rule")
    wildcards = sum(v.count("*") + v.count("?") for v in values_in_rule)
    if wildcards > ALB_CONDITION_WILDCARDS_PER_RULE:
        problems.append(f"{wildcards} wildcards in the rule")
    return problems


def test_public_origin_rules_at_the_path_limit_fit_alb_limits(tmp_path: Path) -> None:
    """alb_origin=public adds CloudFront's secret header to each rule: with a service at the
    declaration's limit (3 paths, 5 wildcards) every rule the program plans still fits AWS's
    limits; the control shows the check refuses a fourth path in the same rule."""
    limit = ["/r1/*?", "/r2/*?", "/r3/?"]
    stack = evaluated_with(
        declaration_copy(tmp_path, _web(paths=limit)),
        alb_origin="public",
        origin_verify_secret="origin-verify-secret-0123456789abcdefghij",
        domain_name="shop.example.com",
        hosted_zone_id="Z0123456789ABC",
    )
    rules = stack.of_type(RULE)
    assert len(rules) == 2
    for rule in rules:
        assert alb_rule_limit_problems(rule.inputs["conditions"]) == [], rule.urn
        assert any("httpHeader" in c for c in rule.inputs["conditions"]), rule.urn
    reports = stack.named(RULE, "load-balancer-reports-forward").inputs["conditions"]
    assert {"pathPattern": {"values": limit}} in reports
    # control: one more path (in one condition, as the program writes it) breaks the rule
    fourth = [
        {"pathPattern": {"values": [*c["pathPattern"]["values"], "/r4"]}} if "pathPattern" in c
        else c
        for c in reports
    ]  # fmt: skip
    assert alb_rule_limit_problems(fourth) == ["pathPattern: 4 values in one condition"]
    # control: the rule's totals (two path conditions of 3 would be 6 values, 6 wildcards)
    six = [{"pathPattern": {"values": ["/a*", "/b*", "/c*"]}}] * 2
    assert alb_rule_limit_problems(six) == ["6 values in the rule", "6 wildcards in the rule"]


# The demo's load-balancer, alarm, ECS and edge resources by logical name (recorded before web
# services became many): an upgrade must not replace any of them. Two logical names changed, and
# each carries its old one as an alias, so the engine moves the resource instead of replacing it.
DEMO_NAMES = {
    "aws:lb/loadBalancer:LoadBalancer": ["load-balancer-alb"],
    "aws:lb/listener:Listener": ["load-balancer-http"],
    TARGET_GROUP: ["load-balancer-api", "load-balancer-api-alt"],
    RULE: ["load-balancer-api-forward"],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ["load-balancer-to-tasks-8000"],
    "aws:cloudfront/distribution:Distribution": ["edge-cdn"],
    "aws:ecs/service:Service": ["services-api", "services-worker"],
    "aws:iam/role:Role": ["services-ecs-lb"],
    "aws:appautoscaling/policy:Policy": [
        "services-api-cpu", "services-worker-backlog",
    ],
    ALARM: [
        "observability-api-target-5xx", "observability-api-elb-5xx",
        "observability-api-p95-latency",
    ],
}  # fmt: skip
RENAMED = {
    "load-balancer-api-forward": "load-balancer-forward",
    "load-balancer-to-tasks-8000": "load-balancer-to-tasks",
}


def test_demo_keeps_its_resources_names_and_alarm_names(stack: EvaluatedStack) -> None:
    for rtype, expected in DEMO_NAMES.items():
        names = {r.name for r in stack.of_type(rtype)}
        if rtype == "aws:iam/role:Role" or rtype == ALARM:
            assert set(expected) <= names, rtype
        elif rtype == "aws:appautoscaling/policy:Policy":
            assert names == set(expected), rtype
        else:
            scope = {n for n in names if n.startswith(("load-balancer-", "edge-", "services-"))}
            assert scope == set(expected), rtype
    for new, old in RENAMED.items():
        (resource,) = [r for r in stack.resources if r.name == new]
        assert old in resource.aliases, f"{resource.urn} must alias {old}: else it is replaced"
    # physical names and the rule's place stay too (a changed alarm name replaces the alarm)
    prefix = stack.config.prefix
    alarm_names = {a.name: a.inputs["name"] for a in stack.of_type(ALARM)}
    for suffix in ("api-target-5xx", "api-elb-5xx", "api-p95-latency"):
        assert alarm_names[f"observability-{suffix}"] == f"{prefix}-{suffix}"
    assert stack.named(RULE, "load-balancer-api-forward").inputs["priority"] == 10


def _many_webs(count: int, paths_each: int) -> Callable[[dict[str, Any]], None]:
    """`count` more web services, each with `paths_each` patterns of its own."""

    def edit(data: dict[str, Any]) -> None:
        for index in range(count):
            data["services"][f"web{index}"] = {
                **REPORTS_WEB,
                "paths": [f"/w{index}/p{n}/*" for n in range(paths_each)],
            }

    return edit


def test_cloudfront_behaviour_quota_counts_every_web_services_paths(tmp_path: Path) -> None:
    """74 ordered behaviours besides the site's: the api's 3 and 71 more fit, 72 more do not."""
    with pytest.raises(DeclarationError, match=r"declare 75 paths in all; CloudFront takes 74"):
        load_declaration(TOPOLOGY, declaration_copy(tmp_path, _many_webs(72, 1)))
    fits = load_declaration(TOPOLOGY, declaration_copy(tmp_path, _many_webs(71, 1)))
    assert sum(len(s.paths) for s in fits.of_kind("web").values()) == 74  # control


def test_load_balancer_quota_counts_web_services_per_strategy(tmp_path: Path) -> None:
    """100 target groups per balancer: 50 web services under blue/green (2 each), 100 rolling."""
    declaration = load_declaration(TOPOLOGY, declaration_copy(tmp_path, _many_webs(50, 1)))
    blue_green = parse_stack_config(raw_stack_config(STACK), STACK)
    assert blue_green.deployment_strategy == "blue_green"
    with pytest.raises(DeclarationError, match=r"51 web services; one load balancer takes 50"):
        resolve(declaration, blue_green)
    rolling = parse_stack_config(
        raw_stack_config(STACK, {"shipyard:deployment_strategy": "rolling"}), STACK
    )
    assert len(resolve(declaration, rolling)) > 51  # control: rolling takes up to 100
