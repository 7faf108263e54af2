"""The one-off migration task, against recorded ECS responses (botocore Stubber)."""

from __future__ import annotations

import pytest
from botocore.stub import ANY

from scripts.deploy.errors import DeployError
from scripts.deploy.run_migration import (
    LogLocation,
    MigrationTarget,
    family_of,
    main,
    registration_of,
    run_migration,
    target_from_outputs,
)
from tests.delivery.support import recorded

TD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/"
MIGRATE = TD + "shipyard-staging-migrate:13"
TASK = "arn:aws:ecs:eu-west-1:123456789012:task/shipyard-staging/5f0e9d8c7b6a45f3a2e1d0c9b8a7f6e5"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shipyard@sha256:" + "b" * 64
TARGET = MigrationTarget(
    cluster="shipyard-staging",
    task_definition="shipyard-staging-migrate",
    subnets=("subnet-0a1b", "subnet-0c2d"),
    security_groups=("sg-0e3f",),
)
RUN_TASK = {
    "cluster": "shipyard-staging",
    "taskDefinition": MIGRATE,  # the resolved revision, not the family: what was checked runs
    "count": 1,
    "startedBy": "shipyard-migrate",
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
    return run_migration(client, TARGET, **{**arguments, **overrides})


def _stub_start(stubber):
    stubber.add_response(
        "describe_task_definition",
        recorded("ecs/describe_task_definition_migrate.json"),
        {"taskDefinition": "shipyard-staging-migrate"},
    )
    stubber.add_response("run_task", recorded("ecs/run_task_started.json"), RUN_TASK)


def test_run_migration_runs_the_new_revision_once_and_waits_for_exit_0(ecs, clock):
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


def test_run_migration_fails_on_a_non_zero_exit_with_the_log_location(ecs, clock):
    client, stubber = ecs
    _stub_start(stubber)
    stubber.add_response(
        "describe_tasks", recorded("ecs/describe_tasks_stopped_failed.json"), DESCRIBE_TASKS
    )

    with pytest.raises(DeployError) as failure:
        _run(client, clock)

    message = str(failure.value)
    assert "migrate exited with 1" in message
    assert "log group /ecs/shipyard-staging" in message
    assert "stream migrate/migrate/5f0e9d8c7b6a45f3a2e1d0c9b8a7f6e5" in message


def test_run_migration_fails_when_the_container_never_ran(ecs, clock):
    client, stubber = ecs
    _stub_start(stubber)
    stubber.add_response(
        "describe_tasks", recorded("ecs/describe_tasks_pull_failed.json"), DESCRIBE_TASKS
    )

    with pytest.raises(DeployError, match=r"no exit code.*CannotPullContainerError"):
        _run(client, clock)


def test_run_migration_registers_a_revision_with_the_new_image_and_runs_that_one(ecs, clock):
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


def test_first_deploy_without_outputs_skips_the_migration_and_says_so(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)  # step outputs then go to stdout
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}")
    assert main(["--stack-outputs", str(outputs), "--image", IMAGE, "--first-deploy-ok"]) == 0
    printed = capsys.readouterr().out
    assert "ran=false" in printed
    assert "first deploy" in printed
    # without the flag, missing outputs are an error naming them
    assert main(["--stack-outputs", str(outputs), "--image", IMAGE]) == 1
    assert "migrate_task_definition_arn" in capsys.readouterr().out


def test_run_migration_reports_why_ecs_could_not_start_it(ecs, clock):
    client, stubber = ecs
    stubber.add_response(
        "describe_task_definition",
        recorded("ecs/describe_task_definition_migrate.json"),
        {"taskDefinition": "shipyard-staging-migrate"},
    )
    stubber.add_response("run_task", recorded("ecs/run_task_no_capacity.json"), RUN_TASK)

    with pytest.raises(DeployError, match="RESOURCE:ENI no free network interfaces"):
        _run(client, clock)


def test_run_migration_stops_a_task_that_overruns(ecs, clock):
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


def test_target_from_outputs_uses_the_family_of_the_output_arn():
    target = target_from_outputs(
        {
            "cluster_name": "shipyard-prod",
            "migrate_task_definition_arn": TD + "shipyard-prod-migrate:7",
            "migrate_network": {"subnets": ["subnet-1"], "security_groups": ["sg-1"]},
        }
    )
    assert target == MigrationTarget(
        "shipyard-prod", "shipyard-prod-migrate", ("subnet-1",), ("sg-1",)
    )


def test_target_from_outputs_refuses_a_network_without_subnets():
    with pytest.raises(DeployError, match="migrate_network must be"):
        target_from_outputs(
            {
                "cluster_name": "c",
                "migrate_task_definition_arn": TD + "m:1",
                "migrate_network": {"subnets": [], "security_groups": []},
            }
        )


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
