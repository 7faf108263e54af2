"""The deploy's one-off tasks (services.yaml's `kind: task`, e.g. the migration), against
recorded ECS responses (botocore Stubber)."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from botocore.stub import ANY
from pydantic import TypeAdapter, ValidationError

from infra.service_declaration import ServiceName
from scripts.deploy.errors import DeployError
from scripts.deploy.run_migration import (
    STARTED_BY_PREFIX,
    LogLocation,
    TaskTarget,
    declared_tasks,
    family_of,
    main,
    registration_of,
    run_task,
    targets_from_outputs,
)
from tests.delivery.support import recorded

TD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/"
MIGRATE = TD + "shipyard-staging-migrate:13"
TASK = "arn:aws:ecs:eu-west-1:123456789012:task/shipyard-staging/5f0e9d8c7b6a45f3a2e1d0c9b8a7f6e5"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shipyard@sha256:" + "b" * 64
TARGET = TaskTarget(
    name="migrate",
    cluster="shipyard-staging",
    task_definition="shipyard-staging-migrate",
    subnets=("subnet-0a1b", "subnet-0c2d"),
    security_groups=("sg-0e3f",),
)
RUN_TASK = {
    "cluster": "shipyard-staging",
    "taskDefinition": MIGRATE,  # the resolved revision, not the family: what was checked runs
    "count": 1,
    "startedBy": "deploy-migrate",  # the deploy and the task's declared name
    "launchType": "FARGATE",
    "networkConfiguration": {
        "awsvpcConfiguration": {
            "subnets": ["subnet-0a1b", "subnet-0c2d"],
            "securityGroups": ["sg-0e3f"],
            "assignPublicIp": "DISABLED",
        }
    },
}
DESCRIBE_TASKS = {"cluster": "shipyard-staging", "tasks": [TASK]}


def _run(client, clock, **overrides):
    arguments = {
        "expected_image": IMAGE,
        "timeout_seconds": 600,
        "poll_seconds": 10,
        "region": "eu-west-1",
        "sleep": clock.sleep,
        "clock": clock,
        "log": lambda line: None,
    }
    return run_task(client, TARGET, **{**arguments, **overrides})


def _stub_start(stubber):
    stubber.add_response(
        "describe_task_definition",
        recorded("ecs/describe_task_definition_migrate.json"),
        {"taskDefinition": "shipyard-staging-migrate"},
    )
    stubber.add_response("run_task", recorded("ecs/run_task_started.json"), RUN_TASK)


def test_run_task_runs_the_new_revision_once_and_waits_for_exit_0(ecs, clock):
    client, stubber = ecs
    _stub_start(stubber)
    stubber.add_response(
        "describe_tasks", recorded("ecs/describe_tasks_running.json"), DESCRIBE_TASKS
    )
    stubber.add_response(
        "describe_tasks", recorded("ecs/describe_tasks_stopped_ok.json"), DESCRIBE_TASKS
    )

    assert _run(client, clock) == TASK
    assert clock.sleeps == [10]


def test_run_task_fails_on_a_non_zero_exit_with_the_log_location(ecs, clock):
    client, stubber = ecs
    _stub_start(stubber)
    stubber.add_response(
        "describe_tasks", recorded("ecs/describe_tasks_stopped_failed.json"), DESCRIBE_TASKS
    )

    with pytest.raises(DeployError) as failure:
        _run(client, clock)

    message = str(failure.value)
    assert "task migrate failed: migrate exited with 1" in message
    assert "log group /ecs/shipyard-staging" in message
    assert "stream migrate/migrate/5f0e9d8c7b6a45f3a2e1d0c9b8a7f6e5" in message


def test_run_task_fails_when_the_container_never_ran(ecs, clock):
    client, stubber = ecs
    _stub_start(stubber)
    stubber.add_response(
        "describe_tasks", recorded("ecs/describe_tasks_pull_failed.json"), DESCRIBE_TASKS
    )

    with pytest.raises(DeployError, match=r"no exit code.*CannotPullContainerError"):
        _run(client, clock)


def test_run_task_registers_a_revision_with_the_new_image_and_runs_that_one(ecs, clock):
    """The first-deploy trap (issue 12, item 5): the stack's state is not touched before the
    approved plan; the migration still runs the new image, from a revision of its own."""
    client, stubber = ecs
    current = recorded("ecs/describe_task_definition_migrate.json")
    new_image = IMAGE.replace("b" * 64, "9" * 64)
    stubber.add_response(
        "describe_task_definition", current, {"taskDefinition": "shipyard-staging-migrate"}
    )
    registered = {
        **current["taskDefinition"],
        "taskDefinitionArn": TD + "shipyard-staging-migrate:14",
        "revision": 14,
        "containerDefinitions": [
            {**c, "image": new_image} for c in current["taskDefinition"]["containerDefinitions"]
        ],
    }
    # The Stubber checks the request against botocore's ECS model: only members AWS accepts.
    stubber.add_response(
        "register_task_definition",
        {"taskDefinition": registered},
        registration_of(current["taskDefinition"], new_image),
    )
    stubber.add_response(
        "run_task",
        recorded("ecs/run_task_started.json"),
        {**RUN_TASK, "taskDefinition": TD + "shipyard-staging-migrate:14"},
    )
    stubber.add_response(
        "describe_tasks", recorded("ecs/describe_tasks_stopped_ok.json"), DESCRIBE_TASKS
    )

    assert _run(client, clock, expected_image=new_image) == TASK
    request = registration_of(current["taskDefinition"], new_image)
    assert {c["image"] for c in request["containerDefinitions"]} == {new_image}
    assert "taskDefinitionArn" not in request
    assert "revision" not in request
    assert request["family"] == current["taskDefinition"]["family"]


def test_run_task_reports_why_ecs_could_not_start_it(ecs, clock):
    client, stubber = ecs
    stubber.add_response(
        "describe_task_definition",
        recorded("ecs/describe_task_definition_migrate.json"),
        {"taskDefinition": "shipyard-staging-migrate"},
    )
    stubber.add_response("run_task", recorded("ecs/run_task_no_capacity.json"), RUN_TASK)

    with pytest.raises(DeployError, match="RESOURCE:ENI no free network interfaces"):
        _run(client, clock)


def test_run_task_stops_a_task_that_overruns(ecs, clock):
    client, stubber = ecs
    _stub_start(stubber)
    for _ in range(3):
        stubber.add_response(
            "describe_tasks", recorded("ecs/describe_tasks_running.json"), DESCRIBE_TASKS
        )
    stubber.add_response(
        "stop_task",
        {"task": recorded("ecs/describe_tasks_stopped_failed.json")["tasks"][0]},
        {"cluster": "shipyard-staging", "task": TASK, "reason": ANY},
    )

    with pytest.raises(DeployError, match="still RUNNING after 20 s; it was stopped"):
        _run(client, clock, timeout_seconds=20)


@pytest.mark.parametrize(
    ("arn", "family"),
    [
        (TD + "shipyard-staging-migrate:13", "shipyard-staging-migrate"),
        ("shipyard-staging-migrate:13", "shipyard-staging-migrate"),
        ("shipyard-staging-migrate", "shipyard-staging-migrate"),
    ],
)
def test_family_of(arn, family):
    assert family_of(arn) == family


def test_log_location_links_to_the_cloudwatch_console():
    location = LogLocation("migrate", "/ecs/shipyard-staging", "migrate/migrate/abc", "eu-west-1")
    url = location.console_url()
    assert url.startswith(
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
    )
    # The console's double-encoded form of the names ("/" -> "$252F").
    assert "log-group/$252Fecs$252Fshipyard-staging/log-events/migrate$252Fmigrate$252Fabc" in url


# services.yaml's shape, reduced to what the deploy reads: names, kinds, their order. `backfill`
# is declared after `migrate` but sorts before it, as the stack output's keys do (Pulumi writes
# them sorted): the deploy must follow the declaration. `alerts` has a kind the deploy does not
# act on (functions come from another part of the platform): ignored.
DECLARATION = """
services:
  api: {kind: web, command: [python, -m, service, api], port: 8000, health_path: /healthz}
  migrate: {kind: task, command: [python, -m, service, migrate]}
  worker: {kind: worker, command: [python, -m, service, worker], consumes: [order-processing]}
  prune-logins: {kind: scheduled, command: [python, -m, service, prune-logins]}
  backfill: {kind: task, command: [python, -m, service, backfill]}
  alerts: {kind: function}
"""
NETWORKS = {
    "migrate": {"subnets": ["subnet-0a1b", "subnet-0c2d"], "security_groups": ["sg-0e3f"]},
    "backfill": {"subnets": ["subnet-0a1b", "subnet-0c2d"], "security_groups": ["sg-0b4c"]},
}


def _entry(name, kind, revision, service_name=None):
    return {
        "kind": kind,
        "task_definition_arn": f"{TD}shipyard-staging-{name}:{revision}",
        "log_group_name": "/ecs/shipyard-staging",
        "service_name": service_name,
        "schedule_name": None,
        "network": NETWORKS.get(name, {"subnets": ["subnet-0a1b"], "security_groups": ["sg-9"]}),
    }


SERVICES: dict[str, dict[str, Any]] = {
    "alerts": {"kind": "function", "name": "shipyard-staging-alerts"},
    "api": _entry("api", "web", 42, "shipyard-staging-api"),
    "backfill": _entry("backfill", "task", 3),
    "migrate": _entry("migrate", "task", 13),
    "prune-logins": {**_entry("prune-logins", "scheduled", 2), "schedule_name": "p"},
    "worker": _entry("worker", "worker", 41, "shipyard-staging-worker"),
}
OUTPUTS: dict[str, Any] = {"cluster_name": "shipyard-staging", "services": SERVICES}
# What a stack last deployed before the `services` output exported instead.
LEGACY_OUTPUTS = {
    "cluster_name": "shipyard-staging",
    "api_service_name": "shipyard-staging-api",
    "migrate_task_definition_arn": MIGRATE,
    "migrate_network": NETWORKS["migrate"],
}


def _stub_task(stubber, name, *, outcome="ecs/describe_tasks_stopped_ok.json"):
    """One task's calls, in the order run_task makes them, each request checked."""
    renamed = ("migrate", name)  # the migrate task's recorded answers, as another task's
    definition = recorded("ecs/describe_task_definition_migrate.json", renamed=renamed)
    stubber.add_response(
        "describe_task_definition", definition, {"taskDefinition": f"shipyard-staging-{name}"}
    )
    network = NETWORKS[name]
    stubber.add_response(
        "run_task",
        recorded("ecs/run_task_started.json", renamed=renamed),
        {
            **RUN_TASK,
            "taskDefinition": definition["taskDefinition"]["taskDefinitionArn"],
            "startedBy": f"deploy-{name}",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": network["subnets"],
                    "securityGroups": network["security_groups"],
                    "assignPublicIp": "DISABLED",
                }
            },
        },
    )
    stubber.add_response("describe_tasks", recorded(outcome, renamed=renamed), DESCRIBE_TASKS)


@pytest.fixture
def deploy(tmp_path, ecs, monkeypatch):
    """`python -m scripts.deploy.run_migration` as the deploy job runs it, on the stubbed client:
    returns a runner taking the outputs and extra arguments, and the record file."""
    client, stubber = ecs
    monkeypatch.setattr(boto3, "client", lambda service, **_: client)
    declaration = tmp_path / "services.yaml"
    declaration.write_text(DECLARATION)
    record = tmp_path / "tasks-run.txt"

    def run(outputs, *arguments):
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs))
        return main(
            [
                "--stack-outputs", str(path), "--image", IMAGE, "--interval", "0",
                "--declaration", str(declaration), "--record", str(record), *arguments,
            ]
        )  # fmt: skip

    return run, stubber, record


def test_declared_tasks_are_the_task_kinds_in_declaration_order(tmp_path):
    declaration = tmp_path / "services.yaml"
    declaration.write_text(DECLARATION)

    assert declared_tasks(declaration) == ["migrate", "backfill"]


def test_the_repository_declares_its_migration_as_a_task():
    assert "migrate" in declared_tasks()


def test_every_task_runs_in_declaration_order_each_with_its_own_network(deploy, capsys):
    run, stubber, record = deploy
    _stub_task(stubber, "migrate")
    _stub_task(stubber, "backfill")  # the Stubber fails on a call out of this order

    assert run(OUTPUTS, "--before-up") == 0
    assert record.read_text() == "migrate\nbackfill\n"
    printed = capsys.readouterr().out
    assert "task migrate (5f0e9d8c7b6a45f3a2e1d0c9b8a7f6e5) exited 0" in printed
    assert "task backfill (5f0e9d8c7b6a45f3a2e1d0c9b8a7f6e5) exited 0" in printed
    # the web, worker, scheduled and function entries were not run (no call was stubbed for them)

    # After `pulumi up`, the same command with the same record has nothing left to run.
    assert run(OUTPUTS) == 0
    assert "no task to run now (already ran: migrate, backfill)" in capsys.readouterr().out


def test_a_failing_task_stops_the_deploy_before_the_next_one(deploy, capsys):
    run, stubber, record = deploy
    _stub_task(stubber, "migrate", outcome="ecs/describe_tasks_stopped_failed.json")
    # nothing stubbed for backfill: running it would fail the test with an unexpected call

    assert run(OUTPUTS, "--before-up") == 1
    output = capsys.readouterr()
    assert "task migrate failed: migrate exited with 1" in output.out + output.err
    assert "the deploy stops here" in output.out + output.err
    assert not record.exists()  # so a re-run of the deploy runs it again


def test_a_first_deploy_runs_its_tasks_after_the_up_that_creates_them(deploy, capsys):
    run, stubber, record = deploy

    assert run({}, "--before-up") == 0  # `pulumi stack output --json` of a new stack
    printed = capsys.readouterr().out
    assert "migrate, backfill: not in the stack yet" in printed
    assert not record.exists()

    _stub_task(stubber, "migrate")
    _stub_task(stubber, "backfill")
    assert run(OUTPUTS) == 0
    assert record.read_text() == "migrate\nbackfill\n"


def test_a_task_new_in_this_release_runs_after_the_up(deploy, capsys):
    run, stubber, record = deploy
    before = {
        **OUTPUTS,
        "services": {k: v for k, v in SERVICES.items() if k != "backfill"},
    }
    _stub_task(stubber, "migrate")

    assert run(before, "--before-up") == 0
    assert "backfill: not in the stack yet" in capsys.readouterr().out
    assert record.read_text() == "migrate\n"

    _stub_task(stubber, "backfill")  # only backfill: migrate is in the record
    assert run(OUTPUTS) == 0
    assert record.read_text() == "migrate\nbackfill\n"


def test_a_declared_task_missing_after_the_up_is_an_error_naming_it(deploy, capsys):
    run, _, _ = deploy
    after = {
        **OUTPUTS,
        "services": {k: v for k, v in SERVICES.items() if k != "backfill"},
    }

    # Without --before-up the outputs must have every declared task; no ECS call is made.
    assert run(after) == 1
    output = capsys.readouterr()
    assert "has no task backfill" in output.out + output.err
    assert "run `pulumi up` for this stack first" in output.out + output.err


def test_a_stack_deployed_before_the_services_output_runs_its_legacy_task_once(deploy, capsys):
    """The transition: the outputs read before the up are the previous version's, without
    `services`; its migrate task runs from the legacy outputs, and the log says so."""
    run, stubber, record = deploy
    _stub_task(stubber, "migrate")

    assert run(LEGACY_OUTPUTS, "--before-up") == 0
    printed = capsys.readouterr().out
    assert "::notice::the stack's outputs have no `services`" in printed
    assert "from the legacy outputs migrate_task_definition_arn and migrate_network" in printed
    assert "backfill: not in the stack yet" in printed
    assert record.read_text() == "migrate\n"

    # after the up (which writes `services`): only the task the legacy outputs could not name
    _stub_task(stubber, "backfill")
    assert run(OUTPUTS) == 0
    assert record.read_text() == "migrate\nbackfill\n"


def test_targets_from_outputs_refuse_a_task_without_subnets():
    outputs = {
        "cluster_name": "c",
        "services": {"migrate": {**_entry("migrate", "task", 1), "network": {"subnets": []}}},
    }
    with pytest.raises(DeployError, match=r"services.migrate must have .* network"):
        targets_from_outputs(outputs, ["migrate"])


def test_targets_from_outputs_use_the_family_of_each_task_definition():
    targets, missing = targets_from_outputs(OUTPUTS, ["backfill", "migrate", "gone"])

    assert [(t.name, t.task_definition, t.security_groups) for t in targets] == [
        ("backfill", "shipyard-staging-backfill", ("sg-0b4c",)),
        ("migrate", "shipyard-staging-migrate", ("sg-0e3f",)),
    ]
    assert missing == ["gone"]


# ECS's `startedBy` (botocore 1.44's ECS model, RunTask and StartTask; AWS API reference,
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html): letters, numbers,
# hyphens, forward slashes and underscores; "up to 128" for RunTask, "up to 36" for StartTask
# (the older RunTask limit, still quoted by several SDKs). Held here to the stricter 36.
STARTED_BY_RULE = re.compile(r"[A-Za-z0-9/_-]{1,36}")


def _started_by_of(name: str) -> str:
    return f"{STARTED_BY_PREFIX}{name}"


def test_the_longest_task_name_services_yaml_accepts_gives_a_started_by_ecs_accepts():
    names = TypeAdapter(ServiceName)
    longest = "m" + "a" * 19
    names.validate_python(longest)
    with pytest.raises(ValidationError):  # longer names are refused before any deploy
        names.validate_python(longest + "a")
    assert STARTED_BY_RULE.fullmatch(_started_by_of(longest))


def test_started_by_rule_control():
    # What the rule refuses: a 30-character name would have broken RunTask, as would a dot.
    assert not STARTED_BY_RULE.fullmatch(_started_by_of("m" * 30))
    assert not STARTED_BY_RULE.fullmatch(_started_by_of("db.migrate"))
