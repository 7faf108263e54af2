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
    DECLARATION_FILE,
    DeclarationError,
    load_declaration,
    resolve,
)
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
from .queries import container, environment, role_policy_of, secrets, statements, task_definition

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
# A scheduled chore: a one-off command run every night, with the database and nothing else.
NIGHTLY = {
    "kind": "scheduled",
    "command": ["python", "-m", "service", "prune-logins"],
    "schedule": "cron(30 3 * * ? *)",
    "database": True,
    "database_connections": 2,
}
# "My service is a container that listens on a port": the demo's api replaced by another one.
SHOP = {
    "kind": "web",
    # 0.0.0.0 inside the task's own network namespace, as the platform's HOST says.
    "command": ["uvicorn", "shop.main:app", "--host", "0.0.0.0", "--port", "9000"],  # noqa: S104
    "port": 9000,
    "health_path": "/health",
    "size": {"cpu": 512, "memory": 1024, "min_tasks": 1, "max_tasks": 2},
}


def declaration_copy(tmp: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """services.yaml copied to `tmp` and changed by `edit`: the user's edit, and only that."""
    data = yaml.safe_load(DECLARATION_FILE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp / "services.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run_with(path: Path) -> ProgramRun:
    """The program, as platform/__main__.py runs it, reading the declaration at `path`."""
    raw = raw_stack_config(STACK)
    config = parse_stack_config(raw, STACK)

    def program() -> None:
        declaration = load_declaration(TOPOLOGY, path)
        for name, value in build(config, declaration=declaration).items():
            pulumi.export(name, value)

    return run_under_mocks(program, stack=STACK, raw_config=raw)


def evaluated_with(path: Path) -> EvaluatedStack:
    run = run_with(path)
    if run.error is not None:
        raise run.error
    raw = raw_stack_config(STACK)
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
    egress = replaced.named(
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "load-balancer-to-tasks"
    )
    assert (egress.inputs["fromPort"], egress.inputs["toPort"]) == (9000, 9000)

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


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_set("reports", kind="daemon"), "services.reports.kind"),
        (_set("api", port=None), "services.api.port: a web service needs the port"),
        (_set("reports", publishes=["invoices"]), "services.reports.publishes: 'invoices'"),
        (_set("reports", consumes=["invoice-queue"]), "services.reports.consumes: 'invoice-queue'"),
        (_set("reports", port=8080), "services.reports.port/health_path: only a web service"),
        (_set("nightly", **{**NIGHTLY, "schedule": "every night"}), "services.nightly.schedule"),
        (_set("worker", environment={"PORT": "1"}), "services.worker.environment: PORT"),
        (_set("reports", kind="web", port=9000, health_path="/h"), "declare exactly one"),
        (_set("reports", image="nginx:latest"), "services.reports.image"),
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
        "platform-variable",
        "second-web",
        "image-by-tag",
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
