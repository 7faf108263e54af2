"""Network: AZ spread, subnet tiers, NAT per stack setting, endpoints when there is no NAT."""

from __future__ import annotations

import re
from collections.abc import Callable

from infra.network import INTERFACE_ENDPOINTS
from tools.plan.offline import AVAILABILITY_ZONE_IDS, EvaluatedStack


def subnets(stack: EvaluatedStack, tier: str) -> list[dict[str, object]]:
    return [
        r.inputs for r in stack.of_type("aws:ec2/subnet:Subnet") if r.inputs["tags"]["tier"] == tier
    ]


def test_public_and_private_subnet_per_zone(stack: EvaluatedStack) -> None:
    zones = stack.config.availability_zones
    for tier in ("public", "private"):
        found = subnets(stack, tier)
        assert len(found) == zones
        assert len({s["availabilityZone"] for s in found}) == zones, "one subnet per AZ"
        assert all(s["mapPublicIpOnLaunch"] is False for s in found)


def test_nat_gateways_follow_the_setting(staging: EvaluatedStack, prod: EvaluatedStack) -> None:
    assert len(staging.of_type("aws:ec2/natGateway:NatGateway")) == 1  # single
    assert len(prod.of_type("aws:ec2/natGateway:NatGateway")) == 3  # per_az
    # per AZ: each private route table leaves through the NAT of its own AZ
    nat_ids = {r.state["id"] for r in prod.of_type("aws:ec2/natGateway:NatGateway")}
    routes = prod.of_type("aws:ec2/route:Route")
    assert {r.inputs["natGatewayId"] for r in routes} == nat_ids


def test_no_nat_means_endpoints_and_no_internet_route(
    variant: Callable[..., EvaluatedStack],
) -> None:
    isolated = variant("staging", nat_gateways="none")
    assert isolated.of_type("aws:ec2/natGateway:NatGateway") == []
    assert isolated.of_type("aws:ec2/route:Route") == []
    endpoints = {
        r.inputs["serviceName"].rsplit(".", 1)[-1]
        if "ecr" not in r.inputs["serviceName"]
        else r.inputs["serviceName"].split("us-east-1.", 1)[1]: r.inputs["vpcEndpointType"]
        for r in isolated.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert endpoints.pop("s3") == "Gateway"  # ECR image layers come from S3
    assert set(endpoints) >= {"ecr.api", "ecr.dkr", "logs", "secretsmanager", "sns", "sqs"}
    assert set(endpoints) == {
        e.rsplit(".", 1)[-1] if "ecr" not in e else e for e in INTERFACE_ENDPOINTS
    }
    assert set(endpoints.values()) == {"Interface"}


def test_tasks_run_in_private_subnets_without_public_ips(stack: EvaluatedStack) -> None:
    private = {
        r.state["id"]
        for r in stack.of_type("aws:ec2/subnet:Subnet")
        if r.inputs["tags"]["tier"] == "private"
    }
    for service in stack.of_type("aws:ecs/service:Service"):
        network = service.inputs["networkConfiguration"]
        assert network["assignPublicIp"] is False, service.urn
        assert set(network["subnets"]) == private, service.urn
    for name, entry in stack.outputs["services"].items():  # what the deploy runs tasks with
        assert set(entry["network"]["subnets"]) == private, name
    database = stack.named("aws:rds/instance:Instance", "database-postgres").inputs
    assert database["publiclyAccessible"] is False


def test_security_group_descriptions_use_the_characters_aws_accepts(stack: EvaluatedStack) -> None:
    # EC2 refuses other characters (an apostrophe fails `pulumi up`, not the mocks).
    allowed = re.compile(r"^[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]*$")
    kinds = (
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    )
    described = [r for kind in kinds for r in stack.of_type(kind) if "description" in r.inputs]
    assert described
    for resource in described:
        assert allowed.match(resource.inputs["description"]), resource.urn


def test_subnets_avoid_the_excluded_zone_ids(stack: EvaluatedStack) -> None:
    """Some zone ids lack the instance classes used here (use1-az3 in us-east-1); zones are
    chosen by id exclusion, since the names map to different ids in every account."""
    assert stack.config.excluded_zone_ids == ("use1-az3",)
    zone_ids = dict(zip((f"us-east-1{s}" for s in "abcdef"), AVAILABILITY_ZONE_IDS, strict=True))
    used = {zone_ids[s.inputs["availabilityZone"]] for s in stack.of_type("aws:ec2/subnet:Subnet")}
    assert len(used) == stack.config.availability_zones
    assert not used & set(stack.config.excluded_zone_ids), used
