"""The order-alerts function: packaged from service/notifications, least privilege, failures
kept, invoked by SNS from order-events only with the topology's filter; operator e-mail and SMS
subscribers from stack config."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest

from infra.config import ConfigError, parse_stack_config
from infra.functions import MAX_EVENT_AGE_SECONDS, code_archive
from infra.messaging import ROLE_TAG
from infra.operator_alerts import subscriber_id
from service.messaging.topology import (
    OPERATOR_ALERTS_TOPIC,
    ORDER_ALERTS_FUNCTION,
    TOPOLOGY,
    Function,
)
from tests.notifications.test_function_package import run_probe_alone
from tools.local.function_runner import declared_topology
from tools.paths import REPO_ROOT
from tools.plan.offline import EvaluatedStack, RecordedResource, raw_stack_config

from .queries import as_list, role_policy_of, statements

FUNCTION = declared_topology().function(ORDER_ALERTS_FUNCTION)
LAMBDA = "aws:lambda/function:Function"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def the_function(stack: EvaluatedStack) -> RecordedResource:
    return stack.named(LAMBDA, f"functions-{FUNCTION.key}")


def failed_invocations_queue(stack: EvaluatedStack) -> RecordedResource:
    return stack.named("aws:sqs/queue:Queue", f"functions-{FUNCTION.key}-failed-invocations")


def grants(document: dict) -> dict[str, set[str]]:
    allowed: dict[str, set[str]] = {}
    for statement in statements(document):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            allowed.setdefault(action, set()).update(as_list(statement["Resource"]))
    return allowed


def test_the_function_runs_the_declared_handler_with_its_topics_and_logs(
    stack: EvaluatedStack,
) -> None:
    function = the_function(stack)
    inputs = function.inputs
    log_group = stack.named("aws:cloudwatch/logGroup:LogGroup", f"functions-{FUNCTION.key}")
    assert inputs["name"] == f"{stack.config.prefix}-{FUNCTION.key}"
    assert inputs["handler"] == "notifications.handler.handler"
    assert inputs["runtime"].startswith("python3.")
    assert inputs["timeout"] == FUNCTION.timeout_seconds
    assert inputs["environment"]["variables"] == {
        "OPERATOR_TOPIC_ARN": stack.outputs["topic_arns"][OPERATOR_ALERTS_TOPIC],
        "ENVIRONMENT": stack.config.environment,
    }
    assert inputs["loggingConfig"]["logGroup"] == log_group.state["name"]
    assert log_group.inputs["retentionInDays"] == stack.config.log_retention_days
    role = stack.named("aws:iam/role:Role", f"functions-{FUNCTION.key}")
    assert inputs["role"] == role.state["arn"]
    # The function is created once its role may write its logs.
    policy = stack.named("aws:iam/rolePolicy:RolePolicy", f"functions-{FUNCTION.key}")
    assert policy.urn in function.dependencies
    assert stack.outputs["functions"][FUNCTION.key] == {
        "name": inputs["name"],
        "log_group_name": log_group.state["name"],
        "failed_invocations_queue_url": failed_invocations_queue(stack).state["url"],
    }


def test_the_code_is_the_notifications_package_file_by_file(staging: EvaluatedStack) -> None:
    code = the_function(staging).inputs["code"]
    assert isinstance(code, pulumi.AssetArchive)
    source = REPO_ROOT / FUNCTION.source_dir
    expected = {f"notifications/{p.name}": str(p) for p in source.glob("*.py")}
    # Each entry a file asset: anything else would be missing here and fail the comparison.
    files = {k: a.path for k, a in code.assets.items() if isinstance(a, pulumi.FileAsset)}
    assert files == expected
    assert "notifications/handler.py" in expected


def test_the_shipped_archive_imports_and_runs_alone(tmp_path: Path) -> None:
    """Unpack exactly what Pulumi ships and import the handler Lambda would call, in isolation."""
    root = tmp_path / "archive"
    for key, asset in code_archive(FUNCTION).assets.items():
        assert isinstance(asset, pulumi.FileAsset), key
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(asset.path, root / key)
    result = run_probe_alone(root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        '{"heavy": [], "outcome": "MalformedEventError"}'
    )


def test_the_archive_leaves_out_bytecode_and_keeps_subpackages(tmp_path: Path) -> None:
    package = tmp_path / "svc" / "alerts"
    (package / "__pycache__").mkdir(parents=True)
    (package / "inner").mkdir()
    for path in ("__init__.py", "handler.py", "inner/__init__.py", "inner/format.py"):
        (package / path).write_text("")
    (package / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\x00")
    (package / "README.txt").write_text("not code")
    function = Function(key="f", description="", package="svc.alerts", entry_point="handler.h")

    archive = code_archive(function, repo_root=tmp_path)

    assert set(archive.assets) == {
        "alerts/__init__.py",
        "alerts/handler.py",
        "alerts/inner/__init__.py",
        "alerts/inner/format.py",
    }


def test_a_package_that_is_not_one_is_refused(tmp_path: Path) -> None:
    function = Function(key="f", description="", package="nowhere.at_all", entry_point="h.h")
    with pytest.raises(FileNotFoundError, match=r"check its `package` in services\.yaml"):
        code_archive(function, repo_root=tmp_path)


def test_the_role_writes_its_logs_publishes_the_operator_topic_and_parks_failures_only(
    stack: EvaluatedStack,
) -> None:
    allowed = grants(role_policy_of(stack, f"functions-{FUNCTION.key}"))
    log_group = stack.named("aws:cloudwatch/logGroup:LogGroup", f"functions-{FUNCTION.key}")
    logs = {log_group.state["arn"] + ":*"}
    assert allowed == {
        "logs:CreateLogStream": logs,
        "logs:PutLogEvents": logs,
        "sns:Publish": {stack.outputs["topic_arns"][OPERATOR_ALERTS_TOPIC]},
        "sqs:SendMessage": {failed_invocations_queue(stack).state["arn"]},
    }
    role = stack.named("aws:iam/role:Role", f"functions-{FUNCTION.key}")
    (trust,) = statements(json.loads(role.inputs["assumeRolePolicy"]))
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"


def test_failed_invocations_land_in_an_encrypted_queue_that_raises_an_alarm(
    stack: EvaluatedStack,
) -> None:
    invoke = stack.named(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        f"functions-{FUNCTION.key}",
    )
    queue = failed_invocations_queue(stack)
    assert invoke.inputs["functionName"] == the_function(stack).state["name"]
    assert invoke.inputs["maximumRetryAttempts"] == FUNCTION.async_retries
    assert invoke.inputs["maximumEventAgeInSeconds"] == MAX_EVENT_AGE_SECONDS
    assert invoke.inputs["destinationConfig"] == {"onFailure": {"destination": queue.state["arn"]}}
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert queue.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    assert queue.inputs["tags"][ROLE_TAG] == "dead-letter"
    alarm = stack.named(
        "aws:cloudwatch/metricAlarm:MetricAlarm", f"functions-{FUNCTION.key}-failed-invocations"
    )
    assert alarm.inputs["dimensions"] == {"QueueName": queue.inputs["name"]}
    assert alarm.inputs["threshold"] == 0
    alerts_topic = stack.named("aws:sns/topic:Topic", "observability-alerts").state["arn"]
    assert alarm.inputs["alarmActions"] == [alerts_topic]


def test_sns_invokes_it_from_order_events_only_and_only_for_failed_orders(
    stack: EvaluatedStack,
) -> None:
    function = the_function(stack)
    (fsub,) = TOPOLOGY.subscriptions_of_function(FUNCTION.key)
    topic_arn = stack.outputs["topic_arns"][fsub.topic]
    permissions = stack.of_type("aws:lambda/permission:Permission")
    assert [p.inputs for p in permissions] == [
        {
            "action": "lambda:InvokeFunction",
            "function": function.state["name"],
            "principal": "sns.amazonaws.com",
            "sourceArn": topic_arn,
        }
    ]
    (subscription,) = [s for s in stack.of_type(SUBSCRIPTION) if s.inputs["protocol"] == "lambda"]
    assert subscription.inputs["topic"] == topic_arn
    assert subscription.inputs["endpoint"] == function.state["arn"]
    assert subscription.inputs["endpoint"].startswith("arn:aws:lambda:")
    assert json.loads(subscription.inputs["filterPolicy"]) == {"event_type": ["order.failed"]}
    assert subscription.inputs["filterPolicyScope"] == "MessageAttributes"
    # Subscribed only once SNS may invoke it: no lost first messages.
    assert permissions[0].urn in subscription.dependencies


def test_reserved_concurrency_comes_from_stack_config(
    staging: EvaluatedStack, prod: EvaluatedStack, variant: Callable[..., EvaluatedStack]
) -> None:
    assert the_function(staging).inputs["reservedConcurrentExecutions"] == -1  # unreserved
    assert the_function(prod).inputs["reservedConcurrentExecutions"] == (
        prod.config.alerts_reserved_concurrency
    )
    assert prod.config.alerts_reserved_concurrency is not None
    capped = variant("staging", alerts_reserved_concurrency="3")
    assert the_function(capped).inputs["reservedConcurrentExecutions"] == 3


def operator_subscriptions(stack: EvaluatedStack) -> dict[str, RecordedResource]:
    return {
        s.inputs["endpoint"]: s
        for s in stack.of_type(SUBSCRIPTION)
        if s.inputs["protocol"] in ("email", "sms")
    }


def test_no_operator_subscribers_by_default(staging: EvaluatedStack) -> None:
    assert staging.config.alert_emails == ()
    assert staging.config.alert_sms_numbers == ()
    assert operator_subscriptions(staging) == {}


def test_operator_subscribers_come_from_stack_config(
    variant: Callable[..., EvaluatedStack],
) -> None:
    stack = variant(
        "staging",
        alert_emails='["oncall@example.com", "ops-lead@example.org"]',
        alert_sms_numbers="+14155550100",
    )
    found = operator_subscriptions(stack)
    operator_topic = stack.outputs["topic_arns"][OPERATOR_ALERTS_TOPIC]
    assert {e: (s.inputs["protocol"], s.inputs["topic"]) for e, s in found.items()} == {
        "oncall@example.com": ("email", operator_topic),
        "ops-lead@example.org": ("email", operator_topic),
        "+14155550100": ("sms", operator_topic),
    }
    # Names come from the address, not the position: reordering the list replaces nothing.
    reordered = variant(
        "staging",
        alert_emails='["ops-lead@example.org", "oncall@example.com"]',
        alert_sms_numbers="+14155550100",
    )
    assert {s.name for s in operator_subscriptions(reordered).values()} == {
        s.name for s in found.values()
    }
    assert found["+14155550100"].name == f"operator-alerts-sms-{subscriber_id('+14155550100')}"
    assert "oncall" not in found["oncall@example.com"].name


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"alert_emails": '["oncall@example"]'}, "'oncall@example' is not an e-mail address"),
        ({"alert_emails": "a@example.com,a@example.com"}, "lists a@example.com more than once"),
        ({"alert_emails": "[1, 2]"}, "shipyard:alert_emails must be a list of strings"),
        ({"alert_sms_numbers": "0044 7700 900123"}, "is not an E.164 phone number"),
        ({"alert_sms_numbers": '["+1415555010O"]'}, "'+1415555010O' is not an E.164"),
        ({"alerts_reserved_concurrency": "0"}, "alerts_reserved_concurrency=0 is out of range"),
    ],
)
def test_wrong_alert_settings_stop_with_a_clear_message(
    settings: dict[str, str], expected: str
) -> None:
    raw = raw_stack_config("staging", {f"shipyard:{k}": v for k, v in settings.items()})
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, "staging")
    assert expected in str(caught.value)
