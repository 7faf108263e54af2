"""Rollout verification against recorded ECS responses (botocore Stubber: real request and
response validation against the ECS API model)."""

from __future__ import annotations

import pytest

from scripts.deploy.errors import DeployError
from scripts.deploy.verify_rollout import (
    ExpectedService,
    check_images,
    expected_from_outputs,
    judge_service,
    wait_for_rollout,
)
from tests.delivery.support import recorded

TD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/"
API_NEW, API_OLD = TD + "shipyard-staging-api:42", TD + "shipyard-staging-api:41"
WORKER_NEW = TD + "shipyard-staging-worker:41"
EXPECTED = [
    ExpectedService("shipyard-staging-api", API_NEW),
    ExpectedService("shipyard-staging-worker", WORKER_NEW),
]
DESCRIBE = {"cluster": "shipyard-staging", "services": [s.name for s in EXPECTED]}
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shipyard@sha256:" + "b" * 64


def _wait(ecs_client, clock, **overrides):
    arguments = {
        "cluster": "shipyard-staging",
        "expected": EXPECTED,
        "timeout_seconds": 600,
        "poll_seconds": 15,
        "sleep": clock.sleep,
        "clock": clock,
        "log": lambda line: None,
    }
    return wait_for_rollout(ecs_client, **{**arguments, **overrides})


def test_wait_for_rollout_passes_once_the_new_task_definition_completed(ecs, clock):
    client, stubber = ecs
    stubber.add_response(
        "describe_services", recorded("ecs/describe_services_in_progress.json"), DESCRIBE
    )
    stubber.add_response(
        "describe_services", recorded("ecs/describe_services_completed.json"), DESCRIBE
    )

    verdicts = _wait(client, clock)

    assert [v.state for v in verdicts] == ["completed", "completed"]
    assert clock.sleeps == [15]  # polled twice, slept once in between


def test_wait_for_rollout_fails_when_the_circuit_breaker_rolled_back(ecs, clock):
    client, stubber = ecs
    stubber.add_response(
        "describe_services", recorded("ecs/describe_services_in_progress.json"), DESCRIBE
    )
    stubber.add_response(
        "describe_services", recorded("ecs/describe_services_rolled_back.json"), DESCRIBE
    )

    with pytest.raises(DeployError) as failure:
        _wait(client, clock)

    message = str(failure.value)
    assert "rolled it back" in message
    assert API_OLD in message
    assert API_NEW in message
    assert "circuit breaker: tasks failed to start" in message  # the failed deployment's reason
    assert "rolling back to deployment" in message  # the service's own events


def test_wait_for_rollout_fails_on_a_failed_rollout_that_was_not_rolled_back(ecs, clock):
    client, stubber = ecs
    stubber.add_response(
        "describe_services", recorded("ecs/describe_services_rollout_failed.json"), DESCRIBE
    )

    with pytest.raises(DeployError, match="rollout FAILED: ECS deployment circuit breaker"):
        _wait(client, clock)
    assert clock.sleeps == []


def test_wait_for_rollout_times_out_with_the_last_state(ecs, clock):
    client, stubber = ecs
    for _ in range(3):
        stubber.add_response(
            "describe_services", recorded("ecs/describe_services_in_progress.json"), DESCRIBE
        )

    with pytest.raises(DeployError) as failure:
        _wait(client, clock, timeout_seconds=30)

    message = str(failure.value)
    assert "not finished after 30 s" in message
    assert "shipyard-staging-api: rollout IN_PROGRESS (1/2 tasks running" in message
    assert "shipyard-staging-worker" not in message  # only what is still waiting is named


def test_wait_for_rollout_reports_a_missing_service(ecs, clock):
    client, stubber = ecs
    stubber.add_response(
        "describe_services", recorded("ecs/describe_services_missing.json"), DESCRIBE
    )

    with pytest.raises(DeployError, match=r"MISSING.*cluster_name"):
        _wait(client, clock)


def test_judge_service_waits_while_an_older_deployment_still_drains():
    service = recorded("ecs/describe_services_completed.json")["services"][0]
    service["deployments"].append(
        {**service["deployments"][0], "status": "ACTIVE", "taskDefinition": API_OLD}
    )

    verdict = judge_service(service, API_NEW)

    assert verdict.state == "in_progress"
    assert "1 older deployment(s) draining" in verdict.message


def test_judge_service_refuses_a_service_without_rollout_state():
    service = recorded("ecs/describe_services_completed.json")["services"][0]
    del service["deployments"][0]["rolloutState"]

    verdict = judge_service(service, API_NEW)

    assert verdict.state == "failed"
    assert "deployment_circuit_breaker" in verdict.message


def test_check_images_accepts_task_definitions_running_the_built_image(ecs):
    client, stubber = ecs
    stubber.add_response(
        "describe_task_definition",
        recorded("ecs/describe_task_definition_api.json"),
        {"taskDefinition": API_NEW},
    )
    stubber.add_response(
        "describe_task_definition",
        recorded("ecs/describe_task_definition_worker.json"),
        {"taskDefinition": WORKER_NEW},
    )

    check_images(client, EXPECTED, IMAGE)


def test_check_images_refuses_a_task_definition_with_another_image(ecs):
    client, stubber = ecs
    stubber.add_response(
        "describe_task_definition",
        recorded("ecs/describe_task_definition_api.json"),
        {"taskDefinition": API_NEW},
    )
    other = IMAGE.replace("b" * 64, "c" * 64)

    with pytest.raises(DeployError, match="pulumi config set shipyard:image_ref"):
        check_images(client, EXPECTED[:1], other)


def test_expected_from_outputs_names_missing_outputs():
    with pytest.raises(DeployError, match="worker_service_name, worker_task_definition_arn"):
        expected_from_outputs(
            {"cluster_name": "c", "api_service_name": "a", "api_task_definition_arn": API_NEW}
        )
