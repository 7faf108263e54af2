"""Rollout verification against recorded ECS responses (botocore Stubber: real request and
response validation against the ECS API model)."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.model import StringShape

from infra.config import PROJECT
from scripts.deploy.errors import DeployError
from scripts.deploy.verify_rollout import (
    GOING,
    ROLLED_BACK,
    STOPPED,
    SUCCEEDED,
    ExpectedService,
    check_images,
    expected_from_outputs,
    judge_deployment,
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


SERVICE_DEPLOYMENTS = [
    "arn:aws:ecs:eu-west-1:123456789012:service-deployment/shipyard-staging/shipyard-staging-api/Api7Xq2",
    "arn:aws:ecs:eu-west-1:123456789012:service-deployment/shipyard-staging/shipyard-staging-worker/Wrk3Lm9",
]
ROLLBACK_STATUSES = [
    "ROLLBACK_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_SUCCESSFUL",
    "ROLLBACK_FAILED",
]


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


def _round(stubber, deployments, *, revisions=True):
    """One poll: DescribeServices, DescribeServiceDeployments (and, the first time, the target
    revisions' task definitions). Every request and response is checked against ECS's model."""
    stubber.add_response(
        "describe_services", recorded("ecs/describe_services_current_deployments.json"), DESCRIBE
    )
    stubber.add_response(
        "describe_service_deployments", deployments, {"serviceDeploymentArns": SERVICE_DEPLOYMENTS}
    )
    if revisions:
        answer = recorded("ecs/describe_service_revisions.json")
        stubber.add_response(
            "describe_service_revisions",
            answer,
            {
                "serviceRevisionArns": sorted(
                    r["serviceRevisionArn"] for r in answer["serviceRevisions"]
                )
            },
        )


@pytest.mark.parametrize("strategy", ["rolling", "blue_green"])
def test_a_successful_deployment_passes(ecs, clock, strategy):
    client, stubber = ecs
    _round(stubber, recorded(f"ecs/describe_service_deployments_{strategy}_successful.json"))

    verdicts = _wait(client, clock)

    assert [v.state for v in verdicts] == ["completed", "completed"]
    assert verdicts[0].message.startswith(f"{strategy.upper()} deployment SUCCESSFUL")


def test_blue_green_waits_through_its_bake_time(ecs, clock):
    client, stubber = ecs
    _round(stubber, recorded("ecs/describe_service_deployments_blue_green_baking.json"))
    _round(
        stubber,
        recorded("ecs/describe_service_deployments_blue_green_successful.json"),
        revisions=False,  # revisions never change: looked up once
    )
    lines: list[str] = []

    verdicts = _wait(client, clock, log=lines.append)

    assert [v.state for v in verdicts] == ["completed", "completed"]
    assert clock.sleeps == [15]
    assert "BLUE_GREEN deployment IN_PROGRESS, BAKE_TIME (2/2 tasks running)" in lines[0]


@pytest.mark.parametrize("strategy", ["rolling", "blue_green"])
@pytest.mark.parametrize("status", [*ROLLBACK_STATUSES, "STOP_REQUESTED", "STOPPED"])
def test_a_rollback_or_stop_of_either_strategy_turns_the_pipeline_red(ecs, clock, strategy, status):
    client, stubber = ecs
    answer = recorded(f"ecs/describe_service_deployments_{strategy}_successful.json")
    api = answer["serviceDeployments"][0]
    api.update(status=status, statusReason="alarm shipyard-staging-api-5xx is in ALARM")
    api.pop("finishedAt", None)
    if status.startswith("ROLLBACK"):
        api["rollback"] = {
            "reason": "alarm shipyard-staging-api-5xx is in ALARM",
            "startedAt": api["startedAt"],
            "serviceRevisionArn": api["sourceServiceRevisions"][0]["arn"],
        }
    _round(stubber, answer)

    with pytest.raises(DeployError) as failure:
        _wait(client, clock)

    message = str(failure.value)
    assert f"shipyard-staging-api: {strategy.upper()} deployment {status}" in message
    assert "alarm shipyard-staging-api-5xx is in ALARM" in message
    assert "shipyard-staging-worker" not in message  # it succeeded
    assert clock.sleeps == []


def test_a_recorded_circuit_breaker_rollback_names_the_revision_ecs_went_back_to(ecs, clock):
    client, stubber = ecs
    _round(stubber, recorded("ecs/describe_service_deployments_rolling_rolled_back.json"))

    with pytest.raises(DeployError) as failure:
        _wait(client, clock)

    message = str(failure.value)
    assert "ROLLING deployment ROLLBACK_SUCCESSFUL" in message
    assert "circuit breaker threshold was exceeded" in message
    assert "shipyard-staging-api/1790000000000000041" in message
    assert "recent events: " in message  # the service's own events come along


def test_a_deployment_of_another_task_definition_fails(ecs, clock):
    client, stubber = ecs
    _round(stubber, recorded("ecs/describe_service_deployments_rolling_successful.json"))
    other = [ExpectedService("shipyard-staging-api", API_OLD), EXPECTED[1]]

    with pytest.raises(DeployError, match="another deployment replaced it"):
        _wait(client, clock, expected=other)


def test_wait_for_rollout_times_out_with_the_last_state(ecs, clock):
    client, stubber = ecs
    baking = recorded("ecs/describe_service_deployments_blue_green_baking.json")
    _round(stubber, baking)
    for _ in range(2):
        _round(stubber, baking, revisions=False)

    with pytest.raises(DeployError) as failure:
        _wait(client, clock, timeout_seconds=30)

    message = str(failure.value)
    assert "not finished after 30 s" in message
    assert "shipyard-staging-api: BLUE_GREEN deployment IN_PROGRESS, BAKE_TIME" in message
    assert "shipyard-staging-worker" not in message  # only what is still waiting is named


def test_wait_for_rollout_reports_a_missing_service(ecs, clock):
    client, stubber = ecs
    stubber.add_response(
        "describe_services", recorded("ecs/describe_services_missing.json"), DESCRIBE
    )

    with pytest.raises(DeployError, match=r"MISSING.*cluster_name"):
        _wait(client, clock)


def test_judge_deployment_waits_while_a_deployment_is_pending():
    deployment = recorded("ecs/describe_service_deployments_rolling_successful.json")[
        "serviceDeployments"
    ][0]
    deployment.update(status="PENDING")

    verdict = judge_deployment("api", deployment, API_NEW, API_NEW)

    assert verdict.state == "in_progress"


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

    with pytest.raises(DeployError, match=f"pulumi config set {PROJECT}:image_ref"):
        check_images(client, EXPECTED[:1], other)


def _entry(kind, service_name, task_definition):
    return {
        "kind": kind,
        "task_definition_arn": task_definition,
        "log_group_name": "/ecs/shipyard-staging",
        "service_name": service_name,
        "schedule_name": None,
        "network": {"subnets": ["subnet-0a1b"], "security_groups": ["sg-0e3f"]},
    }


def test_expected_from_outputs_is_every_long_running_service_of_the_services_output():
    """Every web and worker entry, whatever their names and however many: a second web service
    (`shop`) is verified like the first; tasks, schedules and kinds the script does not know
    (a `function`, with keys of its own) are not rolled out as ECS services and are ignored."""
    outputs = {
        "cluster_name": "shipyard-staging",
        "services": {
            "alerts": {"kind": "function", "name": "shipyard-staging-alerts"},
            "api": {**_entry("web", "shipyard-staging-api", API_NEW), "paths": ["/api/*"]},
            "migrate": _entry("task", None, TD + "shipyard-staging-migrate:13"),
            "prune-logins": _entry("scheduled", None, TD + "shipyard-staging-prune-logins:2"),
            "shop": _entry("web", "shipyard-staging-shop", TD + "shipyard-staging-shop:3"),
            "worker": _entry("worker", "shipyard-staging-worker", WORKER_NEW),
        },
    }

    cluster, expected = expected_from_outputs(outputs)

    assert cluster == "shipyard-staging"
    assert expected == [
        ExpectedService("shipyard-staging-api", API_NEW),
        ExpectedService("shipyard-staging-shop", TD + "shipyard-staging-shop:3"),
        ExpectedService("shipyard-staging-worker", WORKER_NEW),
    ]


def test_expected_from_outputs_refuses_a_stack_without_the_services_output():
    """verify_rollout reads what the `pulumi up` just before it wrote: without `services` that up
    was an older program's, so the old per-name outputs are not trusted; the message says what
    to run."""
    legacy = {
        "cluster_name": "c",
        "api_service_name": "a",
        "api_task_definition_arn": API_NEW,
        "worker_service_name": "w",
        "worker_task_definition_arn": WORKER_NEW,
    }
    with pytest.raises(DeployError, match=r"lack `services`.*run `pulumi up` for this stack"):
        expected_from_outputs(legacy)


def test_expected_from_outputs_names_a_long_running_entry_without_its_service():
    outputs = {"cluster_name": "c", "services": {"api": _entry("web", None, API_NEW)}}
    with pytest.raises(DeployError, match=r"services.api \(a web\) must name its service_name"):
        expected_from_outputs(outputs)


def test_expected_from_outputs_names_missing_outputs():
    with pytest.raises(DeployError, match="cluster_name"):
        expected_from_outputs({"services": {}})


def _unclassified(model_statuses: list[str]) -> list[str]:
    """What judge_deployment's status groups miss or name wrongly, against a list of ECS's
    ServiceDeploymentStatus values: a missed one would be waited on as if in progress until the
    timeout, a misspelt one would never match."""
    groups = [(SUCCEEDED,), GOING, ROLLED_BACK, STOPPED]
    named = [status for group in groups for status in group]
    missed = [f"{s} is in no group" for s in model_statuses if named.count(s) != 1]
    unknown = [f"{s} is not an ECS status" for s in named if s not in model_statuses]
    return missed + unknown


def test_every_ecs_service_deployment_status_is_judged_once():
    # ECS's own API model (botocore's data, shape ServiceDeploymentStatus): the values
    # DescribeServiceDeployments may answer in `status`.
    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.shape_for("ServiceDeploymentStatus")
    assert isinstance(shape, StringShape)
    statuses = list(shape.enum)
    assert statuses  # the model still lists its values
    assert _unclassified(statuses) == []


def test_every_ecs_service_deployment_status_is_judged_once_control():
    # A status ECS might add (or one the groups misspell) is reported, not waited on silently.
    assert _unclassified(["SUCCESSFUL", "ROLLBACK_PAUSED"]) == [
        "ROLLBACK_PAUSED is in no group",
        "PENDING is not an ECS status",
        "IN_PROGRESS is not an ECS status",
        "ROLLBACK_REQUESTED is not an ECS status",
        "ROLLBACK_IN_PROGRESS is not an ECS status",
        "ROLLBACK_SUCCESSFUL is not an ECS status",
        "ROLLBACK_FAILED is not an ECS status",
        "STOP_REQUESTED is not an ECS status",
        "STOPPED is not an ECS status",
    ]
