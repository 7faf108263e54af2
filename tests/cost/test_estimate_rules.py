"""What the estimate does with resources it cannot price, and what `make plan` prints."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from scripts.cost.assumptions import AssumptionError, default_assumptions, load_assumptions
from scripts.cost.estimate import FREE, PRICERS, Estimate, PlannedResource, estimate
from scripts.cost.price_book import load_price_book
from tests.cost.conftest import HOURS, excerpt_price, prices_dir_for_tests, stack_with
from tools.plan.cli import main
from tools.plan.costs import estimate_stack, planned_resources


def _estimate(resources, prices_dir=None):
    """At the tests' prices (recorded AWS files, synthetic offers for the rest)."""
    return estimate(
        resources,
        stack="t",
        book=load_price_book("us-east-1", prices_dir or prices_dir_for_tests()),
        assumptions=default_assumptions(),
    )


def test_an_unknown_resource_type_is_listed_as_not_priced_never_as_zero(prod):
    unknown = PlannedResource(
        urn="urn:x", type="aws:elasticache/cluster:Cluster", name="cache", component="cache",
        inputs={"nodeType": "cache.t4g.micro"},
    )  # fmt: skip
    before = estimate_stack(prod, prices_dir=prices_dir_for_tests())
    after = _estimate([*planned_resources(prod), unknown])

    assert after.total_usd == before.total_usd
    (entry,) = [e for e in after.not_priced if e.resource == "cache"]
    assert entry.type == "aws:elasticache/cluster:Cluster"
    assert "no price for this resource type" in entry.reason
    assert not [line for line in after.lines if line.resource == "cache"]


def test_every_resource_of_both_stacks_is_priced_free_or_listed(prod, staging):
    for stack in (prod, staging):
        result = estimate_stack(stack)
        listed = {(e.type, e.resource) for e in result.not_priced}
        for resource in (r for r in stack.resources if r.custom):
            known = resource.type in PRICERS or resource.type in FREE
            assert known or (resource.type, resource.name) in listed, resource.urn
    assert not set(FREE) & set(PRICERS)  # the free list never hides a priced type


def test_control_a_type_dropped_from_the_free_list_shows_as_not_priced(prod, monkeypatch):
    monkeypatch.delitem(FREE, "aws:ec2/subnet:Subnet")

    result = estimate_stack(prod)
    subnets = [e for e in result.not_priced if e.type == "aws:ec2/subnet:Subnet"]
    assert len(subnets) == 6


def test_a_resource_whose_price_is_missing_is_not_priced_with_the_command_to_fix_it():
    database = PlannedResource(
        urn="urn:db", type="aws:rds/instance:Instance", name="db", component="database",
        inputs={"engine": "postgres", "instanceClass": "db.x9.huge", "multiAz": False,
                "allocatedStorage": 20, "storageType": "gp3"},
    )  # fmt: skip
    result = _estimate([database])

    assert result.total_usd == 0
    (entry,) = result.not_priced
    assert "rds_postgresql:Single-AZ:db.x9.huge" in entry.reason
    assert "refresh-prices" in entry.reason


def test_a_changed_assumption_changes_only_its_usage_lines(prod):
    default = estimate_stack(prod, prices_dir=prices_dir_for_tests())
    more = estimate_stack(prod, assume=["cloudfront_gb_out=150"], prices_dir=prices_dir_for_tests())

    per_gb = excerpt_price("AmazonCloudFront", "global", usagetype="US-DataTransfer-Out-Bytes")
    assert more.total_usd - default.total_usd == 100 * per_gb
    assert more.standing_usd == default.standing_usd
    assert more.assumptions["cloudfront_gb_out"].changed


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("cloudfront_gb=1", "no assumption named 'cloudfront_gb'"),
        ("cloudfront_gb_out=lots", "is not a number"),
        ("cloudfront_gb_out=-1", "give a number of 0 or more"),
        ("cloudfront_gb_out", "write NAME=VALUE"),
    ],
)
def test_a_bad_assumption_is_refused_with_what_to_write(pair, message):
    with pytest.raises(AssumptionError, match=message):
        load_assumptions(None, [pair])


def test_an_assumptions_file_overrides_the_defaults(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"alb_average_lcus": 3}))

    assert load_assumptions(path)["alb_average_lcus"].value == 3


def test_make_plan_prints_each_stacks_total_and_breakdown(capsys):
    assert main(["staging", "prod"]) == 0
    out = capsys.readouterr().out

    for stack in ("staging", "prod"):
        assert f"# monthly cost of '{stack}': $" in out
    assert out.count("## by building block") == 2
    assert "## usage assumptions" in out
    assert "## not priced" in out
    # the total's own line says it is partial, and by how much
    assert re.search(r"# monthly cost of 'prod': \$[\d,.]+ .*; \d+ resource\(s\) not priced", out)
    prod_part = out.split("# monthly cost of 'prod'")[1]
    vcpu = excerpt_price("AmazonECS", usagetype="USE1-Fargate-vCPU-Hours:perCPU")
    gb = excerpt_price("AmazonECS", usagetype="USE1-Fargate-GB-Hours")
    api = 3 * HOURS * (1 * vcpu + 2 * gb)
    assert f"${api:.2f}  services-api: Fargate tasks (on-demand), 3 × 1 vCPU, 2 GB × 730 h" in (
        prod_part
    )
    # no AWS offer file recorded for NAT gateways: listed, with why, and not in the total
    assert (
        "network/network-nat-2 (aws:ec2/natGateway:NatGateway): not priced (no recorded AWS "
        "price for `nat_gateway_hour`)" in prod_part
    )


def test_make_plan_diff_compares_the_two_stacks_costs(capsys):
    assert main(["--diff", "staging", "prod"]) == 0
    out = capsys.readouterr().out

    assert "## monthly cost: staging -> prod" in out
    assert (
        "services-api Fargate tasks (on-demand): 1 × 0.5 vCPU, 1 GB × 730 h → "
        "3 × 1 vCPU, 2 GB × 730 h" in out
    )


def test_plan_writes_the_estimate_as_json_for_the_pull_request(tmp_path, capsys):
    path = tmp_path / "cost.json"
    assert main(["prod", "--cost-json", str(path), "--assume", "alb_average_lcus=2"]) == 0

    written = Estimate.from_json(json.loads(path.read_text()))
    assert written.stack == "prod"
    assert written.total_usd == estimate_stack_total("prod", "alb_average_lcus=2")


def estimate_stack_total(stack, *assume):
    return estimate_stack(stack_with(stack), assume=assume).total_usd


def test_plan_refuses_a_bad_assumption_with_status_2(capsys):
    assert main(["staging", "--assume", "nope=1"]) == 2
    assert "error: no assumption named 'nope'" in capsys.readouterr().err


def test_interface_endpoints_cost_per_zone_and_gateway_endpoints_nothing():
    def endpoint(kind, subnets):
        return PlannedResource(
            urn=f"urn:{kind}", type="aws:ec2/vpcEndpoint:VpcEndpoint", name=kind.lower(),
            component="network", inputs={"vpcEndpointType": kind, "subnetIds": subnets},
        )  # fmt: skip

    result = _estimate([endpoint("Interface", ["a", "b", "c"]), endpoint("Gateway", [])])

    per_hour = excerpt_price("AmazonVPC", usagetype="USE1-VpcEndpoint-Hours")
    assert result.total_usd == 3 * HOURS * per_hour
    assert not result.not_priced


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, [("FARGATE", 1), ("FARGATE_SPOT", 0)]),
        (5, [("FARGATE", 2), ("FARGATE_SPOT", 3)]),  # base 1, then 4 split 1:3
        (0, [("FARGATE", 0), ("FARGATE_SPOT", 0)]),
    ],
)
def test_tasks_fill_each_providers_base_then_split_by_weight(count, expected):
    from scripts.cost.estimate import _split_by_strategy

    strategy = [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 3},
    ]
    assert _split_by_strategy(count, strategy) == expected


def test_with_the_committed_prices_what_aws_has_no_recorded_file_for_is_not_priced(prod):
    """The committed price file holds AWS's own prices only: NAT gateways, the database, the
    load balancer … show as not priced (no recorded AWS price), never as $0 or a typed price."""
    book = load_price_book("us-east-1")
    result = estimate_stack(prod)

    database = [e for e in result.not_priced if e.resource == "database-postgres"]
    assert database
    assert database[0].reason.startswith("not priced (no recorded AWS price for ")
    assert "AmazonRDS" in database[0].reason
    assert not [line for line in result.lines if line.resource == "database-postgres"]
    # AWS's records found so far (SOURCES.md): Fargate; public IPv4; EBS gp3 and t3.medium hours
    assert {p.offer_code for p in book.prices.values()} == {"AmazonECS", "AmazonVPC", "AmazonEC2"}
    nat = [e for e in result.not_priced if e.type == "aws:ec2/natGateway:NatGateway"]
    assert nat
    assert all("`nat_gateway_hour`" in e.reason for e in nat)
    # control: at the tests' prices (synthetic AmazonRDS offer) the same database is priced
    priced = estimate_stack(prod, prices_dir=prices_dir_for_tests())
    assert [line for line in priced.lines if line.resource == "database-postgres"]


def test_a_scheduled_task_costs_its_runs_of_fargate_time_under_the_stated_duration(staging):
    # staging: prune-logins, rate(1 hour), 0.25 vCPU / 0.5 GB on FARGATE (base 1), x86
    vcpu = excerpt_price("AmazonECS", usagetype="USE1-Fargate-vCPU-Hours:perCPU")
    gb = excerpt_price("AmazonECS", usagetype="USE1-Fargate-GB-Hours")
    task_hour = Decimal("0.25") * vcpu + Decimal("0.5") * gb

    def expected(minutes):  # 730 hourly runs a month, each `minutes` of one task
        return task_hour * (730 * Decimal(minutes) / 60)

    def runs_line(*assume):
        result = estimate_stack(staging, assume=assume)
        (line,) = [x for x in result.lines if x.resource == "scheduled-tasks-prune-logins"]
        return line

    assert runs_line().monthly_usd == expected(5)  # the default: 5 minutes a run
    assert runs_line("scheduled_task_minutes_per_run=12").monthly_usd == expected(12)
    # Fargate's one-minute minimum: a 6-second run is billed as a minute
    assert runs_line("scheduled_task_minutes_per_run=0.1").monthly_usd == expected(1)
    assert expected(5).quantize(Decimal("0.01")) == Decimal("0.75")
    assert runs_line().usage


@pytest.mark.parametrize(
    ("expression", "runs"),
    [("rate(1 hour)", 730), ("rate(30 minutes)", 1460), ("rate(1 day)", Decimal("730") / 24)],
)
def test_a_schedules_runs_a_month_come_from_its_rate(expression, runs):
    from scripts.cost.estimate import _runs_per_month

    assert _runs_per_month(expression) == runs


def test_a_cron_schedule_is_listed_not_priced_with_why():
    schedule = PlannedResource(
        urn="urn:s", type="aws:scheduler/schedule:Schedule", name="nightly", component="jobs",
        inputs={"scheduleExpression": "cron(0 3 * * ? *)",
                "target": {"ecsParameters": {"taskDefinitionArn": "arn:td", "taskCount": 1}}},
    )  # fmt: skip
    result = _estimate([schedule])

    assert result.total_usd == 0
    (entry,) = result.not_priced
    assert "only rate() schedules are priced" in entry.reason


def test_a_fifo_topic_is_not_priced_and_says_so():
    topic = PlannedResource(
        urn="urn:t", type="aws:sns/topic:Topic", name="orders", component="messaging",
        inputs={"fifoTopic": True},
    )  # fmt: skip
    (entry,) = _estimate([topic]).not_priced
    assert "FIFO topic: not priced (no recorded AWS price" in entry.reason


def test_an_internet_facing_load_balancer_pays_a_public_ipv4_address_per_zone():
    # The nodes of an internet-facing load balancer have public IP addresses, one node per zone
    # (Elastic Load Balancing API reference, CreateLoadBalancer `Scheme`); public IPv4 addresses
    # are billed by the hour since 2024-02-01 (scripts/cost/estimate.py, _elastic_ip).
    def alb(name, **inputs):
        return PlannedResource(
            urn=f"urn:{name}", type="aws:lb/loadBalancer:LoadBalancer", name=name,
            component="load-balancer",
            inputs={"loadBalancerType": "application", "subnets": ["a", "b", "c"], **inputs},
        )  # fmt: skip

    def ipv4_lines(resource):
        return [x for x in _estimate([resource]).lines if x.item.startswith("public IPv4")]

    ipv4_hour = excerpt_price("AmazonVPC", usagetype="USE1-PublicIPv4:InUseAddress")
    (line,) = ipv4_lines(alb("public", internal=False))
    assert line.monthly_usd == 3 * HOURS * ipv4_hour
    assert not line.usage  # standing: the addresses exist with no traffic
    # controls: the platform's own (vpc_origin) load balancer is internal; IPv6-only has none
    assert ipv4_lines(alb("internal", internal=True)) == []
    assert ipv4_lines(alb("v6", ipAddressType="dualstack-without-public-ipv4")) == []


def test_a_service_is_priced_at_its_autoscaling_minimum_not_its_desired_count():
    # The platform sets desired_count to the minimum (infra/services.py), so the stacks cannot
    # tell the two apart; here they differ, as after a deploy that left desiredCount behind.
    definition = PlannedResource(
        urn="urn:td", type="aws:ecs/taskDefinition:TaskDefinition", name="api-task",
        component="services", inputs={"cpu": "1024", "memory": "2048"},
        outputs={"arn": "arn:aws:ecs:us-east-1:1:task-definition/api:1"},
    )  # fmt: skip
    service = PlannedResource(
        urn="urn:svc", type="aws:ecs/service:Service", name="services-api", component="services",
        inputs={"name": "app-api", "desiredCount": 5, "launchType": "FARGATE",
                "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/api:1"},
    )  # fmt: skip

    def target(resource_id):
        return PlannedResource(
            urn="urn:t", type="aws:appautoscaling/target:Target", name="api-scaling",
            component="services",
            inputs={"resourceId": resource_id, "minCapacity": 2, "maxCapacity": 6},
        )  # fmt: skip

    def fargate(resources):
        (line,) = [x for x in _estimate(resources).lines if x.item == "Fargate tasks (on-demand)"]
        return line

    vcpu = excerpt_price("AmazonECS", usagetype="USE1-Fargate-vCPU-Hours:perCPU")
    gb = excerpt_price("AmazonECS", usagetype="USE1-Fargate-GB-Hours")
    scaled = fargate([definition, service, target("service/app-cluster/app-api")])
    assert scaled.monthly_usd == 2 * HOURS * (vcpu + 2 * gb)
    assert scaled.note.startswith("autoscaling minimum, scales up to 6")
    # control: a target of another service leaves this one at its desired count
    other = fargate([definition, service, target("service/app-cluster/app-api-2")])
    assert other.monthly_usd == 5 * HOURS * (vcpu + 2 * gb)
    assert other.note.startswith("desired count, no autoscaling")
