"""One setting changed at a time changes the estimate by exactly what AWS charges for it.

Each expected delta is computed here from the offer file's price (conftest's `excerpt_price`:
AWS's recorded file for Fargate, synthetic test offers for the services no AWS file is recorded
for) and the setting's own arithmetic, never from the estimator; the stacks are the real program
evaluated offline (`make plan`'s harness) with one setting overridden, priced with the tests'
price book (conftest's `prices_dir_for_tests`, made by the refresh command from those offers).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from scripts.cost.estimate import PlannedResource
from tests.cost.conftest import HOURS, RECORDED, excerpt_price, prices_dir_for_tests, stack_with
from tools.plan.costs import estimate_stack as estimate_at_committed_prices
from tools.plan.costs import planned_resources


def estimate_stack(stack):
    return estimate_at_committed_prices(stack, prices_dir=prices_dir_for_tests())


FARGATE_VCPU = excerpt_price("AmazonECS", usagetype="USE1-Fargate-vCPU-Hours:perCPU")
FARGATE_GB = excerpt_price("AmazonECS", usagetype="USE1-Fargate-GB-Hours")


def _total(stack) -> Decimal:
    return estimate_stack(stack).total_usd


def _rds(instance_class: str, deployment: str) -> Decimal:
    return excerpt_price(
        "AmazonRDS",
        instanceType=instance_class,
        databaseEngine="PostgreSQL",
        deploymentOption=deployment,
    )


def test_fargate_prices_here_are_aws_own_not_synthetic():
    assert (RECORDED / "us-east-1" / "AmazonECS.json").is_file()
    assert Decimal("0.04048") == FARGATE_VCPU
    assert Decimal("0.004445") == FARGATE_GB


def test_one_more_api_task_adds_one_task_of_vcpu_and_memory_hours(prod):
    more = stack_with("prod", api_min_tasks="4")  # prod: 3 tasks of 1 vCPU, 2 GB

    expected = HOURS * (1 * FARGATE_VCPU + 2 * FARGATE_GB)
    assert _total(more) - _total(prod) == expected
    assert expected.quantize(Decimal("0.01")) == Decimal("36.04")


def test_a_bigger_api_task_adds_the_extra_vcpu_and_memory_for_every_task(prod):
    # A bigger task runs two api processes, so the database's connection check (infra.config)
    # needs fewer tasks at full scale: both sides cap the scaling alike (it costs nothing here:
    # the estimate counts the minimum tasks).
    capped = stack_with("prod", api_max_tasks="8")
    bigger = stack_with("prod", api_max_tasks="8", api_cpu="2048", api_memory="4096")

    expected = 3 * HOURS * (1 * FARGATE_VCPU + 2 * FARGATE_GB)  # 1 vCPU/2 GB -> 2 vCPU/4 GB
    assert _total(bigger) - _total(capped) == expected


def test_one_nat_gateway_instead_of_three_saves_two_gateways_and_their_addresses(prod):
    single = stack_with("prod", nat_gateways="single")

    nat_hour = excerpt_price("AmazonEC2", usagetype="NatGateway-Hours")
    nat_gb = excerpt_price("AmazonEC2", usagetype="NatGateway-Bytes")
    ipv4_hour = excerpt_price("AmazonVPC", usagetype="USE1-PublicIPv4:InUseAddress")
    assumed_gb = Decimal(10)  # nat_gb_processed_per_gateway, scripts/cost/assumptions.json
    expected = -2 * (HOURS * nat_hour + HOURS * ipv4_hour + assumed_gb * nat_gb)
    assert _total(single) - _total(prod) == expected


def test_another_database_class_changes_the_instance_hours_only(prod):
    larger = stack_with("prod", db_instance_class="db.m7g.xlarge")

    expected = HOURS * (_rds("db.m7g.xlarge", "Multi-AZ") - _rds("db.m7g.large", "Multi-AZ"))
    assert _total(larger) - _total(prod) == expected


def test_multi_az_adds_the_standby_to_instance_hours_and_storage(staging):
    # Production refuses Single-AZ (infra.config), so the switch is tried on staging.
    multi_az = stack_with("staging", db_multi_az="true")

    gp3 = {
        option: excerpt_price(
            "AmazonRDS", volumeType="General Purpose-GP3", deploymentOption=option
        )
        for option in ("Single-AZ", "Multi-AZ")
    }
    instance = HOURS * (_rds("db.t4g.small", "Multi-AZ") - _rds("db.t4g.small", "Single-AZ"))
    storage = 20 * (gp3["Multi-AZ"] - gp3["Single-AZ"])  # staging: 20 GB
    assert _total(multi_az) - _total(staging) == instance + storage
    assert _rds("db.t4g.small", "Multi-AZ") != _rds("db.t4g.small", "Single-AZ")


def test_one_more_alarm_adds_one_alarm_month(prod):
    from scripts.cost.assumptions import default_assumptions
    from scripts.cost.estimate import estimate
    from scripts.cost.price_book import load_price_book

    planned = planned_resources(prod)
    # A single-metric alarm (a metric-math one is billed per metric it reads).
    alarm = next(
        r
        for r in planned
        if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm" and not r.inputs.get("metricQueries")
    )
    extra: PlannedResource = replace(alarm, urn=alarm.urn + "-copy", name=alarm.name + "-copy")

    def total(resources):
        book = load_price_book("us-east-1", prices_dir_for_tests())
        return estimate(
            resources, stack="prod", book=book, assumptions=default_assumptions()
        ).total_usd

    expected = excerpt_price("AmazonCloudWatch", usagetype="CW:AlarmMonitorUsage")
    assert total([*planned, extra]) - total(planned) == expected
    assert total([r for r in planned if r != alarm]) - total(planned) == -expected


def test_staging_tasks_beyond_the_on_demand_base_go_to_spot_and_are_listed_not_priced(staging):
    more = stack_with("staging", api_min_tasks="3")  # base 1 on FARGATE, the rest FARGATE_SPOT

    before, after = estimate_stack(staging), estimate_stack(more)
    assert after.total_usd == before.total_usd  # the on-demand task is the same one
    spot = [e for e in after.not_priced if e.resource == "services-api"]
    assert len(spot) == 1
    assert spot[0].reason.startswith("2 Fargate Spot task(s)")


def test_ec2_capacity_prices_the_groups_instances_and_volumes_not_the_tasks(prod):
    ec2 = estimate_stack(stack_with("prod", compute_mode="ec2"))  # t3.medium, at least 1

    lines = {(line.resource, line.item): line for line in ec2.lines}
    hours = lines[("compute-instances", "EC2 instances (Linux, on-demand)")]
    volumes = lines[("compute-instances", "EBS volumes (gp3)")]
    t3_medium = excerpt_price(
        "AmazonEC2", instanceType="t3.medium", operatingSystem="Linux", capacitystatus="Used"
    )
    assert hours.monthly_usd == HOURS * t3_medium
    assert volumes.monthly_usd == 30 * excerpt_price("AmazonEC2", volumeApiName="gp3")
    assert not [line for line in ec2.lines if line.item.startswith("Fargate")]
    assert any(f.type.startswith("aws:ecs/service:Service") and f.count == 2 for f in ec2.free)


def test_control_pricing_multi_az_at_the_single_az_rate_would_be_caught(staging, monkeypatch):
    from scripts.cost import estimate as estimator

    real = estimator.PRICERS["aws:rds/instance:Instance"]

    def single_az_only(e, r):  # the classic mistake: the standby forgotten
        return real(e, replace(r, inputs={**r.inputs, "multiAz": False}))

    monkeypatch.setitem(estimator.PRICERS, "aws:rds/instance:Instance", single_az_only)
    multi_az = stack_with("staging", db_multi_az="true")
    instance = HOURS * (_rds("db.t4g.small", "Multi-AZ") - _rds("db.t4g.small", "Single-AZ"))
    assert _total(multi_az) - _total(staging) != instance  # what the real test asserts


def test_no_nat_gateway_trades_its_hours_for_interface_endpoints_in_each_zone(staging):
    # nat_gateways: none -> the program adds interface endpoints (infra/network.py) in 2 zones
    no_nat = stack_with("staging", nat_gateways="none")

    endpoints = [r for r in planned_resources(no_nat) if r.type.endswith("VpcEndpoint")]
    interface = [r for r in endpoints if r.inputs["vpcEndpointType"] == "Interface"]
    endpoint_hour = excerpt_price("AmazonVPC", usagetype="USE1-VpcEndpoint-Hours")
    nat = HOURS * excerpt_price("AmazonEC2", usagetype="NatGateway-Hours")
    nat += HOURS * excerpt_price("AmazonVPC", usagetype="USE1-PublicIPv4:InUseAddress")
    nat += 10 * excerpt_price("AmazonEC2", usagetype="NatGateway-Bytes")
    assert interface
    expected = len(interface) * 2 * HOURS * endpoint_hour - nat
    assert _total(no_nat) - _total(staging) == expected
