"""Functions added, sized and refused by declaration only (docs/adapting.md, "Add a function").

A function is a `kind: function` entry of a copy of services.yaml, and who invokes it a
`FunctionSubscription` of a copy of the topology (service/messaging/topology.py): the user's two
edits, both outside platform/infra/. Each evaluation runs the real program under the offline
harness's mocks, like tests/platform_program/test_declared_services.py.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pulumi
import pytest

from infra.config import ConfigError, parse_stack_config
from infra.functions import MAX_EVENT_AGE_SECONDS
from infra.program import build
from infra.service_declaration import DeclarationError, load_declaration
from service.messaging.topology import (
    EVENT_TYPE_ATTRIBUTE,
    OPERATOR_ALERTS_TOPIC,
    ORDER_ALERTS_FUNCTION,
    ORDER_COMPLETED,
    ORDER_EVENTS_TOPIC,
    ORDERS_TOPIC,
    TOPOLOGY,
    FunctionSubscription,
    Topology,
)
from tools.plan.offline import EvaluatedStack, ProgramRun, raw_stack_config, run_under_mocks

from .queries import as_list, statements
from .test_declared_services import declaration_copy

FUNCTION = "order-receipts"
# The second function: another package of the repository, its own size and retries, reserved
# concurrency per stack, publishing one topic.
RECEIPTS: dict[str, Any] = {
    "kind": "function",
    "description": "a receipt line for each completed order",
    "package": "tests.platform_program.receipts_function",
    "entry_point": "handler.handle",
    "memory": 256,
    "timeout": 30,
    "retries": 1,
    "reserved_concurrency": 2,
    "stacks": {"prod": {"reserved_concurrency": 4}},
    "publishes": [OPERATOR_ALERTS_TOPIC],
}
RECEIPTS_FILTER = {EVENT_TYPE_ATTRIBUTE: [ORDER_COMPLETED]}
# The user's edit of the topology: order-events feeds it, completed orders only.
WITH_RECEIPTS = replace(
    TOPOLOGY,
    function_subscriptions=(
        *TOPOLOGY.function_subscriptions,
        FunctionSubscription(
            topic=ORDER_EVENTS_TOPIC,
            function=FUNCTION,
            filter_policy=MappingProxyType(RECEIPTS_FILTER),
        ),
    ),
)


def add_receipts(data: dict[str, Any]) -> None:
    data["services"][FUNCTION] = copy.deepcopy(RECEIPTS)


def run_with(
    path: Path, topology: Topology, stack: str = "staging", settings: dict[str, str] | None = None
) -> ProgramRun:
    raw = raw_stack_config(stack, settings or {})
    config = parse_stack_config(raw, stack)

    def program() -> None:
        declaration = load_declaration(topology, path)
        for name, value in build(config, topology, declaration).items():
            pulumi.export(name, value)

    return run_under_mocks(program, stack=stack, raw_config=raw)


def evaluated_with(path: Path, topology: Topology, stack: str = "staging") -> EvaluatedStack:
    run = run_with(path, topology, stack)
    if run.error is not None:
        raise run.error
    return EvaluatedStack(
        stack=stack,
        config=parse_stack_config(raw_stack_config(stack), stack),
        resources=run.resources,
        outputs=run.outputs,
        invokes=run.invokes,
    )


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> EvaluatedStack:
    return evaluated_with(
        declaration_copy(tmp_path_factory.mktemp("fn"), add_receipts), WITH_RECEIPTS
    )


def functions_children(stack: EvaluatedStack, key: str) -> set[tuple[str, str]]:
    """(type, logical name) of what the Functions component built for function `key`."""
    return {
        (r.type, r.name)
        for r in stack.resources
        if r.name.startswith(f"functions-{key}")
        or r.name == f"functions-{ORDER_EVENTS_TOPIC}-to-{key}"
    }


def the_function_resources(key: str) -> set[tuple[str, str]]:
    base = f"functions-{key}"
    return {
        ("aws:cloudwatch/logGroup:LogGroup", base),
        ("aws:sqs/queue:Queue", f"{base}-failed-invocations"),
        ("aws:iam/role:Role", base),
        ("aws:iam/rolePolicy:RolePolicy", base),
        ("aws:lambda/function:Function", base),
        ("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", base),
        ("aws:lambda/permission:Permission", f"{base}-from-{ORDER_EVENTS_TOPIC}"),
        ("aws:sns/topicSubscription:TopicSubscription", f"functions-{ORDER_EVENTS_TOPIC}-to-{key}"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", f"{base}-failed-invocations"),
    }


def test_the_demo_function_keeps_its_logical_names(staging: EvaluatedStack) -> None:
    """Declared in services.yaml now, order-alerts keeps the names (URNs) it had in the topology:
    existing stacks see no replacement."""
    assert functions_children(staging, ORDER_ALERTS_FUNCTION) == the_function_resources(
        ORDER_ALERTS_FUNCTION
    )
    (component,) = staging.of_type("shipyard:functions:Functions")
    assert component.name == "functions"
    for resource in staging.resources:
        if (resource.type, resource.name) in the_function_resources(ORDER_ALERTS_FUNCTION):
            assert resource.parent == component.urn, resource.urn


def test_add_function_plans_its_function_role_logs_failures_permission_and_subscription(
    added: EvaluatedStack,
) -> None:
    assert functions_children(added, FUNCTION) == the_function_resources(FUNCTION)
    base = f"functions-{FUNCTION}"
    function = added.named("aws:lambda/function:Function", base)
    inputs = function.inputs
    assert inputs["name"] == f"{added.config.prefix}-{FUNCTION}"
    assert inputs["handler"] == "receipts_function.handler.handle"
    assert inputs["memorySize"] == 256
    assert inputs["timeout"] == 30
    assert inputs["reservedConcurrentExecutions"] == 2  # staging: the declaration's
    assert inputs["description"] == RECEIPTS["description"]
    assert inputs["environment"]["variables"] == {
        "OPERATOR_TOPIC_ARN": added.outputs["topic_arns"][OPERATOR_ALERTS_TOPIC],
        "ENVIRONMENT": added.config.environment,
    }
    archive = inputs["code"]
    assert isinstance(archive, pulumi.AssetArchive)
    assert set(archive.assets) == {"receipts_function/__init__.py", "receipts_function/handler.py"}

    # Its role: its own logs, its own failures queue, and the one topic it publishes.
    log_group = added.named("aws:cloudwatch/logGroup:LogGroup", base)
    failed = added.named("aws:sqs/queue:Queue", f"{base}-failed-invocations")
    policy = added.named("aws:iam/rolePolicy:RolePolicy", base)
    allowed: dict[str, set[str]] = {}
    for statement in statements(json.loads(policy.inputs["policy"])):
        for action in as_list(statement["Action"]):
            allowed.setdefault(action, set()).update(as_list(statement["Resource"]))
    assert allowed == {
        "logs:CreateLogStream": {log_group.state["arn"] + ":*"},
        "logs:PutLogEvents": {log_group.state["arn"] + ":*"},
        "sns:Publish": {added.outputs["topic_arns"][OPERATOR_ALERTS_TOPIC]},
        "sqs:SendMessage": {failed.state["arn"]},
    }
    assert log_group.inputs["name"] == f"/shipyard/staging/{FUNCTION}"

    invoke = added.named("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", base)
    assert invoke.inputs["maximumRetryAttempts"] == 1
    assert invoke.inputs["maximumEventAgeInSeconds"] == MAX_EVENT_AGE_SECONDS
    alarm = added.named("aws:cloudwatch/metricAlarm:MetricAlarm", f"{base}-failed-invocations")
    assert alarm.inputs["dimensions"] == {"QueueName": failed.inputs["name"]}

    # SNS may invoke it from order-events, and it is subscribed there with its filter.
    topic_arn = added.outputs["topic_arns"][ORDER_EVENTS_TOPIC]
    permission = added.named(
        "aws:lambda/permission:Permission", f"{base}-from-{ORDER_EVENTS_TOPIC}"
    )
    assert permission.inputs["sourceArn"] == topic_arn
    assert permission.inputs["function"] == function.state["name"]
    subscription = added.named(
        "aws:sns/topicSubscription:TopicSubscription",
        f"functions-{ORDER_EVENTS_TOPIC}-to-{FUNCTION}",
    )
    assert subscription.inputs["endpoint"] == function.state["arn"]
    assert json.loads(subscription.inputs["filterPolicy"]) == RECEIPTS_FILTER
    assert permission.urn in subscription.dependencies
    assert set(added.outputs["functions"]) == {ORDER_ALERTS_FUNCTION, FUNCTION}
    # A function is not a container service: no task definition, no ECS service.
    assert FUNCTION not in added.outputs["services"]


def test_added_function_changes_nothing_of_the_demo(
    added: EvaluatedStack, staging: EvaluatedStack
) -> None:
    """Control for the test above: what it adds is all that changes."""
    before = {(r.type, r.name): r.inputs for r in staging.resources}
    after = {(r.type, r.name): r.inputs for r in added.resources}
    assert set(after) - set(before) == the_function_resources(FUNCTION)
    assert set(before) - set(after) == set()
    for key in the_function_resources(ORDER_ALERTS_FUNCTION):
        if key[0] != "aws:lambda/function:Function":  # its archive compares by identity
            assert after[key] == before[key], key


def test_reserved_concurrency_per_stack_from_the_declaration(tmp_path: Path) -> None:
    prod = evaluated_with(declaration_copy(tmp_path, add_receipts), WITH_RECEIPTS, "prod")
    function = prod.named("aws:lambda/function:Function", f"functions-{FUNCTION}")
    assert function.inputs["reservedConcurrentExecutions"] == 4  # stacks.prod
    # The demo's still comes from shipyard:alerts_reserved_concurrency in Pulumi.prod.yaml.
    alerts = prod.named("aws:lambda/function:Function", f"functions-{ORDER_ALERTS_FUNCTION}")
    assert prod.config.alerts_reserved_concurrency is not None
    assert alerts.inputs["reservedConcurrentExecutions"] == prod.config.alerts_reserved_concurrency


def test_a_function_without_reserved_concurrency_is_unreserved(tmp_path: Path) -> None:
    def unreserved(data: dict[str, Any]) -> None:
        add_receipts(data)
        del data["services"][FUNCTION]["reserved_concurrency"]
        del data["services"][FUNCTION]["stacks"]

    stack = evaluated_with(declaration_copy(tmp_path, unreserved), WITH_RECEIPTS)
    function = stack.named("aws:lambda/function:Function", f"functions-{FUNCTION}")
    assert function.inputs["reservedConcurrentExecutions"] == -1


# --- a wrong function declaration stops before anything is planned -------------------------------


def _receipts(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        entry = {**copy.deepcopy(RECEIPTS), **fields}
        data["services"][FUNCTION] = {k: v for k, v in entry.items() if v is not None}

    return edit


def _subscribe(function: str, topic: str = ORDER_EVENTS_TOPIC) -> Topology:
    return replace(
        WITH_RECEIPTS,
        function_subscriptions=(
            *WITH_RECEIPTS.function_subscriptions,
            FunctionSubscription(topic=topic, function=function),
        ),
    )


@pytest.mark.parametrize(
    ("edit", "topology", "expected"),
    [
        (_receipts(), WITH_RECEIPTS, None),  # the control: the same entry, valid
        # controls at Lambda's limits (the quota page cited in infra/service_declaration.py)
        (_receipts(memory=10240, timeout=900, retries=0), WITH_RECEIPTS, None),
        (_receipts(memory=128, timeout=1, retries=2), WITH_RECEIPTS, None),
        (
            _receipts(package="tests.platform_program.no_such_function"),
            WITH_RECEIPTS,
            "services.order-receipts.package: "
            "tests/platform_program/no_such_function does not exist",
        ),
        (
            _receipts(package="docs"),
            WITH_RECEIPTS,
            "services.order-receipts.package: docs has no __init__.py",
        ),
        (
            _receipts(entry_point="handle"),
            WITH_RECEIPTS,
            "services.order-receipts.entry_point: 'handle' is not `<module>.<function>`",
        ),
        (
            _receipts(entry_point="receipts.handle"),
            WITH_RECEIPTS,
            "services.order-receipts.entry_point: "
            "tests/platform_program/receipts_function/receipts.py does not exist",
        ),
        (
            _receipts(publishes=["invoices"]),
            WITH_RECEIPTS,
            "services.order-receipts.publishes: 'invoices' is not a topic",
        ),
        (
            _receipts(memory=64),
            WITH_RECEIPTS,
            "services.order-receipts.memory: 64 MB is outside Lambda's 128..10240 MB",
        ),
        (
            _receipts(memory=10241),
            WITH_RECEIPTS,
            "services.order-receipts.memory: 10241 MB is outside",
        ),
        (
            _receipts(timeout=0),
            WITH_RECEIPTS,
            "services.order-receipts.timeout: 0 s is outside Lambda's 1..900 s",
        ),
        (
            _receipts(timeout=901),
            WITH_RECEIPTS,
            "services.order-receipts.timeout: 901 s is outside",
        ),
        (
            _receipts(retries=3),
            WITH_RECEIPTS,
            "services.order-receipts.retries: 3 is outside Lambda's 0..2",
        ),
        (
            _receipts(command=["python", "x"]),
            WITH_RECEIPTS,
            "services.order-receipts.command: a function has none",
        ),
        (
            _receipts(paths=["/receipts/*"]),
            WITH_RECEIPTS,
            "services.order-receipts.paths: a function has none",
        ),
        (
            _receipts(stack_settings="worker", reserved_concurrency=None, stacks=None),
            WITH_RECEIPTS,
            "services.order-receipts.stack_settings: worker is a container group",
        ),
        (
            _receipts(stacks={"prod": {"min_tasks": 2}}),
            WITH_RECEIPTS,
            "services.order-receipts.stacks.prod: a function overrides reserved_concurrency only",
        ),
        (_receipts(), TOPOLOGY, "services.order-receipts: no subscription invokes this function"),
        (
            _receipts(),
            _subscribe("order-refunds"),
            "topology: the subscription order-events -> order-refunds names no declared service",
        ),
        (
            _receipts(),
            _subscribe("worker"),
            "topology: the subscription order-events -> worker names a worker, not a function",
        ),
        (
            lambda d: d["services"]["worker"].update(package="service.notifications"),
            TOPOLOGY,
            "services.worker.package: only a function has one",
        ),
    ],
    ids=[
        "control",
        "at-lambdas-upper-limits",
        "at-lambdas-lower-limits",
        "package-missing",
        "package-without-init",
        "entry-point-not-module-dot-function",
        "entry-point-module-missing",
        "unknown-topic",
        "memory-below-lambda",
        "memory-above-lambda",
        "timeout-below-lambda",
        "timeout-above-lambda",
        "too-many-retries",
        "function-with-a-command",
        "function-with-paths",
        "container-stack-settings",
        "stack-override-of-a-container-size",
        "nothing-subscribes-it",
        "subscription-to-an-undeclared-function",
        "subscription-to-a-worker",
        "worker-with-a-package",
    ],
)
def test_bad_function_declaration_fails_before_any_resource_naming_the_entry(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], topology: Topology, expected: str | None
) -> None:
    run = run_with(declaration_copy(tmp_path, edit), topology)
    if expected is None:
        assert run.error is None
        assert FUNCTION in run.outputs["functions"]
        return
    assert isinstance(run.error, DeclarationError), run.error
    assert expected in str(run.error)
    planned = [r for r in run.resources if r.type.startswith("aws:")]
    assert planned == [], "the declaration is read before the first resource"


def test_a_function_cannot_subscribe_to_a_fifo_topic() -> None:
    """SNS FIFO topics deliver to SQS queues only: the topology refuses it when it is declared,
    naming the subscription, so no program (or emulator) ever starts with it."""
    with pytest.raises(ValueError, match=f"subscription {ORDERS_TOPIC}->{FUNCTION}: SNS FIFO"):
        _subscribe(FUNCTION, topic=ORDERS_TOPIC)
    _subscribe(FUNCTION, topic=ORDER_EVENTS_TOPIC)  # control: a standard topic is accepted


# --- the operators' topic: found by the topology's flag, not by name -----------------------------

OPERATORS = {"shipyard:alert_emails": '["oncall@example.com"]'}


def _operators_on(key: str | None) -> Topology:
    return replace(
        TOPOLOGY, topics=tuple(replace(t, operators=t.key == key) for t in TOPOLOGY.topics)
    )


def test_operator_subscribers_follow_the_flagged_topic(tmp_path: Path) -> None:
    path = declaration_copy(tmp_path, lambda data: None)
    for flagged in (OPERATOR_ALERTS_TOPIC, ORDER_EVENTS_TOPIC):
        run = run_with(path, _operators_on(flagged), settings=OPERATORS)
        assert run.error is None, run.error
        (email,) = [
            r
            for r in run.resources
            if r.type == "aws:sns/topicSubscription:TopicSubscription"
            and r.inputs["protocol"] == "email"
        ]
        assert email.inputs["topic"] == run.outputs["topic_arns"][flagged]


def test_operator_subscribers_without_an_operators_topic_are_refused(tmp_path: Path) -> None:
    path = declaration_copy(tmp_path, lambda data: None)
    run = run_with(path, _operators_on(None), settings=OPERATORS)
    assert isinstance(run.error, ConfigError), run.error
    assert "no topic of service/messaging/topology.py is for operators" in str(run.error)
    assert [r for r in run.resources if r.type.startswith("aws:")] == []
    # Control: without subscribers a topology with no operators' topic is fine.
    assert run_with(path, _operators_on(None)).error is None
