"""After a blue/green deployment, production traffic must reach the new revision's target group.

The AWS provider has an open report that provider-driven updates of a native ECS blue/green
service do not alternate target groups (hashicorp/terraform-provider-aws#45678): the deployment
can finish SUCCESSFUL while nothing swapped. verify_rollout therefore reads what ECS says each
revision resolved to (DescribeServiceRevisions -> `resolvedConfiguration.loadBalancers`:
"which target groups serve traffic and which listener rules direct traffic to them", in botocore's
ECS model) and what the production listener rule forwards to (ELBv2 DescribeRules).

The answers are recorded in the APIs' shapes (tests/delivery/data/ecs, .../elbv2); botocore's
Stubber checks every request and response against the ECS and ELBv2 models.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from scripts.deploy.errors import DeployError
from scripts.deploy.verify_rollout import check_traffic_moved, main
from tests.delivery.support import recorded
from tests.delivery.test_verify_rollout import DESCRIBE, EXPECTED, SERVICE_DEPLOYMENTS
from tests.utils.aws_stubs import StubbedClients

REVISION = (
    "arn:aws:ecs:eu-west-1:123456789012:service-revision/shipyard-staging/shipyard-staging-api/"
)
NEW_REVISION, OLD_REVISION = REVISION + "1790000000000000042", REVISION + "1790000000000000041"
TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/"
TG_MAIN = TG + "shipyard-staging-api/6d0ecf831eec9f09"
TG_ALT = TG + "shipyard-staging-api-alt/1c1b5b6e5cdb5a7e"
RULE = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shipyard-staging-alb/"
    "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
)


@pytest.fixture
def elbv2() -> Iterator[tuple[Any, Stubber]]:
    clients = StubbedClients("eu-west-1")
    yield clients.pair("elbv2")
    clients.assert_all_asked()
    clients.close()


def _deployments(ecs_stubber: Stubber, strategy: str) -> None:
    ecs_stubber.add_response(
        "describe_services", recorded("ecs/describe_services_current_deployments.json"), DESCRIBE
    )
    ecs_stubber.add_response(
        "describe_service_deployments",
        recorded(f"ecs/describe_service_deployments_{strategy}_successful.json"),
        {"serviceDeploymentArns": SERVICE_DEPLOYMENTS},
    )


def _revisions(ecs_stubber: Stubber, case: str) -> None:
    ecs_stubber.add_response(
        "describe_service_revisions",
        recorded(f"ecs/describe_service_revisions_blue_green_{case}.json"),
        {"serviceRevisionArns": sorted([NEW_REVISION, OLD_REVISION])},
    )


def _rule(elbv2_stubber: Stubber, case: str) -> None:
    elbv2_stubber.add_response(
        "describe_rules", recorded(f"elbv2/describe_rules_{case}.json"), {"RuleArns": [RULE]}
    )


def test_a_swapped_blue_green_deployment_passes(ecs, elbv2):
    ecs_client, ecs_stubber = ecs
    elbv2_client, elbv2_stubber = elbv2
    _deployments(ecs_stubber, "blue_green")
    _revisions(ecs_stubber, "swapped")
    _rule(elbv2_stubber, "forwards_to_alternate")

    findings = check_traffic_moved(ecs_client, elbv2_client, "shipyard-staging", EXPECTED)

    assert findings == [
        f"shipyard-staging-api: production traffic moved from {TG_MAIN} to {TG_ALT}"
    ]


def test_a_blue_green_deployment_that_did_not_swap_fails(ecs, elbv2):
    """The recorded case of terraform-provider-aws#45678: SUCCESSFUL, yet the new revision was
    put in the target group the old one used."""
    ecs_client, ecs_stubber = ecs
    elbv2_client, _ = elbv2
    _deployments(ecs_stubber, "blue_green")
    _revisions(ecs_stubber, "not_swapped")

    with pytest.raises(DeployError) as failure:
        check_traffic_moved(ecs_client, elbv2_client, "shipyard-staging", EXPECTED)

    message = str(failure.value)
    assert "shipyard-staging-api: the blue/green deployment did not swap target groups" in message
    assert TG_MAIN in message
    assert "hashicorp/terraform-provider-aws#45678" in message


def test_a_listener_rule_still_forwarding_to_the_old_group_fails(ecs, elbv2):
    ecs_client, ecs_stubber = ecs
    elbv2_client, elbv2_stubber = elbv2
    _deployments(ecs_stubber, "blue_green")
    _revisions(ecs_stubber, "swapped")
    _rule(elbv2_stubber, "forwards_to_main")

    with pytest.raises(DeployError) as failure:
        check_traffic_moved(ecs_client, elbv2_client, "shipyard-staging", EXPECTED)

    message = str(failure.value)
    assert f"production listener rule {RULE} forwards to {TG_MAIN}" in message
    assert f"not to {TG_ALT}" in message


def test_rolling_deployments_have_no_swap_to_check(ecs, elbv2):
    ecs_client, ecs_stubber = ecs
    elbv2_client, _ = elbv2
    _deployments(ecs_stubber, "rolling")

    # No DescribeServiceRevisions, no DescribeRules: the Stubbers fail on an unexpected call.
    assert check_traffic_moved(ecs_client, elbv2_client, "shipyard-staging", EXPECTED) == []


def test_a_revision_without_a_resolved_load_balancer_is_not_waved_through(ecs, elbv2):
    ecs_client, ecs_stubber = ecs
    elbv2_client, _ = elbv2
    _deployments(ecs_stubber, "blue_green")
    answer = recorded("ecs/describe_service_revisions_blue_green_swapped.json")
    for revision in answer["serviceRevisions"]:
        revision.pop("resolvedConfiguration")
    ecs_stubber.add_response(
        "describe_service_revisions",
        answer,
        {"serviceRevisionArns": sorted([NEW_REVISION, OLD_REVISION])},
    )

    with pytest.raises(DeployError, match="resolvedConfiguration"):
        check_traffic_moved(ecs_client, elbv2_client, "shipyard-staging", EXPECTED)


@pytest.mark.parametrize(
    ("case", "rule", "code"), [("swapped", "forwards_to_alternate", 0), ("not_swapped", None, 1)]
)
def test_the_verify_step_runs_the_swap_check_after_the_rollout(
    ecs, elbv2, monkeypatch, capsys, case, rule, code
):
    """`python -m scripts.deploy.verify_rollout`, as the deploy job runs it: the rollout wait,
    then the swap check, on the same recorded answers."""
    ecs_client, ecs_stubber = ecs
    elbv2_client, elbv2_stubber = elbv2
    # the rollout wait: one round, everything SUCCESSFUL
    _deployments(ecs_stubber, "blue_green")
    answer = recorded("ecs/describe_service_revisions.json")
    ecs_stubber.add_response(
        "describe_service_revisions",
        answer,
        {
            "serviceRevisionArns": sorted(
                r["serviceRevisionArn"] for r in answer["serviceRevisions"]
            )
        },
    )
    # the swap check
    _deployments(ecs_stubber, "blue_green")
    _revisions(ecs_stubber, case)
    if rule:
        _rule(elbv2_stubber, rule)
    clients = {"ecs": ecs_client, "elbv2": elbv2_client}
    monkeypatch.setattr(boto3, "client", lambda service, **_: clients[service])
    arguments = ["--cluster", "shipyard-staging"]
    for service in EXPECTED:
        arguments += ["--service", f"{service.name}={service.task_definition_arn}"]

    assert main(arguments) == code
    output = capsys.readouterr()
    if code == 0:
        assert f"production traffic moved from {TG_MAIN} to {TG_ALT}" in output.out
    else:
        assert "did not swap target groups" in output.out + output.err
