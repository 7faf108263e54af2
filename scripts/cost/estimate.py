"""Each planned resource priced for a month: standing costs, usage costs under stated assumptions,
resources that cost nothing of their own (with the reason), and resources *not priced*.

The input is what the offline plan evaluates (`tools.plan`): every resource with its type, name,
inputs and (mock) outputs, and the building block (top-level component) it belongs to. A type
that is neither priced here nor in FREE is listed as not priced, never counted as zero.

Conventions, stated with every estimate (`CONVENTIONS`): 730 hours a month; on-demand prices;
no Free Tier, savings plans, reservations, tax or support; a service's tasks at its autoscaling
minimum (the floor it runs at with no load), or its desired count without autoscaling.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from scripts.cost.assumptions import Assumption
from scripts.cost.price_book import Price, PriceBook

# The average month: 365 days × 24 h / 12 = 730 h (a 31-day month has 744, February 672).
HOURS_PER_MONTH = Decimal(730)
CONVENTIONS = (
    "730 hours a month, on-demand prices; no Free Tier, savings plans, reservations or tax; "
    "ECS services at their autoscaling minimum (else their desired count)"
)


@dataclass(frozen=True)
class PlannedResource:
    urn: str
    type: str
    name: str
    component: str  # the building block: the top-level component it belongs to
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CostLine:
    component: str
    resource: str
    item: str  # what is priced: "Fargate tasks (on-demand)"
    detail: str  # the quantity: "3 tasks × 1 vCPU, 2 GB × 730 h"
    monthly_usd: Decimal
    usage: bool = False  # priced under the usage assumptions, not a standing cost
    note: str = ""
    prices: tuple[str, ...] = ()  # the price keys used

    @property
    def key(self) -> str:
        return f"{self.component}/{self.resource}/{self.item}"


@dataclass(frozen=True)
class NotPriced:
    component: str
    resource: str
    type: str
    reason: str


@dataclass(frozen=True)
class Free:
    type: str
    count: int
    reason: str


@dataclass
class Estimate:
    stack: str
    region: str
    prices: str  # PriceBook.describe()
    prices_date: str
    assumptions: dict[str, Assumption]
    lines: list[CostLine]
    not_priced: list[NotPriced]
    free: list[Free]

    @property
    def standing_usd(self) -> Decimal:
        return sum((line.monthly_usd for line in self.lines if not line.usage), Decimal(0))

    @property
    def usage_usd(self) -> Decimal:
        return sum((line.monthly_usd for line in self.lines if line.usage), Decimal(0))

    @property
    def total_usd(self) -> Decimal:
        return self.standing_usd + self.usage_usd

    def by_component(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            totals[line.component] += line.monthly_usd
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "prices": self.prices,
            "prices_date": self.prices_date,
            "conventions": CONVENTIONS,
            "total_usd": str(self.total_usd),
            "standing_usd": str(self.standing_usd),
            "usage_usd": str(self.usage_usd),
            "assumptions": {
                a.name: {"value": str(a.value), "meaning": a.meaning, "changed": a.changed}
                for a in self.assumptions.values()
            },
            "lines": [
                {**asdict(line), "monthly_usd": str(line.monthly_usd), "prices": list(line.prices)}
                for line in self.lines
            ],
            "not_priced": [asdict(entry) for entry in self.not_priced],
            "free": [asdict(entry) for entry in self.free],
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Estimate:
        return cls(
            stack=document["stack"],
            region=document["region"],
            prices=document["prices"],
            prices_date=document["prices_date"],
            assumptions={
                name: Assumption(name, Decimal(a["value"]), a["meaning"], a["changed"])
                for name, a in document["assumptions"].items()
            },
            lines=[
                CostLine(
                    **{
                        **line,
                        "monthly_usd": Decimal(line["monthly_usd"]),
                        "prices": tuple(line["prices"]),
                    }
                )
                for line in document["lines"]
            ],
            not_priced=[NotPriced(**entry) for entry in document["not_priced"]],
            free=[Free(**entry) for entry in document["free"]],
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n"


# Types with no charge of their own, and why. Anything not here and not priced is "not priced".
FREE: dict[str, str] = {
    "aws:ec2/vpc:Vpc": "no charge for a VPC",
    "aws:ec2/subnet:Subnet": "no charge for subnets",
    "aws:ec2/routeTable:RouteTable": "no charge for route tables",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "no charge",
    "aws:ec2/route:Route": "no charge",
    "aws:ec2/internetGateway:InternetGateway": "no charge (data transfer is usage)",
    "aws:ec2/securityGroup:SecurityGroup": "no charge for security groups",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "no charge",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "no charge",
    "aws:iam/role:Role": "IAM is free",
    "aws:iam/rolePolicy:RolePolicy": "IAM is free",
    "aws:iam/policy:Policy": "IAM is free",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM is free",
    "aws:iam/instanceProfile:InstanceProfile": "IAM is free",
    "aws:ecs/cluster:Cluster": "no charge for a cluster (its tasks and instances are priced)",
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": "no charge",
    "aws:ecs/capacityProvider:CapacityProvider": "no charge (its Auto Scaling group is priced)",
    "aws:ecs/taskDefinition:TaskDefinition": "priced through the services that run it",
    "aws:ec2/launchTemplate:LaunchTemplate": "priced through its Auto Scaling group",
    "aws:appautoscaling/target:Target": "no charge (sets the task counts priced)",
    "aws:lb/targetGroup:TargetGroup": "part of the load balancer's hours and LCUs",
    "aws:lb/listener:Listener": "part of the load balancer's hours and LCUs",
    "aws:lb/listenerRule:ListenerRule": "part of the load balancer's hours and LCUs",
    "aws:rds/subnetGroup:SubnetGroup": "no charge",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "bucket setting, no charge",
    "aws:s3/bucketPolicy:BucketPolicy": "bucket setting, no charge",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket setting, no charge",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "bucket setting, no charge (SSE-S3)"
    ),
    "aws:s3/bucketObjectv2:BucketObjectv2": "stored in its bucket, priced with the bucket",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "no charge",
    "aws:cloudfront/vpcOrigin:VpcOrigin": "no additional charge for VPC origins",
    "aws:sqs/queuePolicy:QueuePolicy": "queue setting, no charge",
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": "queue setting, no charge",
    "aws:sns/topicPolicy:TopicPolicy": "topic setting, no charge",
    "aws:sns/topicSubscription:TopicSubscription": "deliveries to SQS and Lambda are free",
    "aws:lambda/permission:Permission": "no charge",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "no charge",
    "aws:secretsmanager/secretVersion:SecretVersion": "part of its secret's monthly price",
    "aws:acm/certificate:Certificate": "public ACM certificates are free",
    "aws:acm/certificateValidation:CertificateValidation": "no charge",
    "aws:route53/record:Record": "no charge per record (DNS queries are usage; alias queries "
    "to AWS resources are free)",
    "aws:kms/alias:Alias": "no charge (the key is priced)",
    "aws:s3/bucketVersioning:BucketVersioning": "bucket setting (old versions are storage)",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "IAM is free",
    "docker:index/image:Image": "a build and push; the image is stored in the bootstrap's ECR",
    "docker:index/tag:Tag": "a tag of an image already stored",
}


class _NoPriceError(LookupError):
    """A price the resource needs is missing from the price file."""


Pricer = Callable[["_Estimator", PlannedResource], list[CostLine]]


def estimate(
    resources: Iterable[PlannedResource],
    *,
    stack: str,
    book: PriceBook,
    assumptions: Mapping[str, Assumption],
) -> Estimate:
    return _Estimator(list(resources), book, dict(assumptions)).run(stack)


class _Estimator:
    def __init__(
        self, resources: list[PlannedResource], book: PriceBook, assumptions: dict[str, Assumption]
    ) -> None:
        self.resources = resources
        self.book = book
        self.assumptions = assumptions
        self.not_priced: list[NotPriced] = []
        self.free: Counter[str] = Counter()
        self.free_reasons: dict[str, str] = dict(FREE)

    def run(self, stack: str) -> Estimate:
        lines: list[CostLine] = []
        for resource in sorted(self.resources, key=lambda r: (r.component, r.name, r.type)):
            pricer = PRICERS.get(resource.type)
            if pricer is not None:
                try:
                    lines += pricer(self, resource)
                except _NoPriceError as missing:
                    self.skip(resource, str(missing))
            elif resource.type in self.free_reasons:
                self.free[resource.type] += 1
            elif resource.type.startswith("pulumi:providers:"):
                continue  # a provider plugin's configuration, not a cloud resource
            else:
                self.skip(resource, "the estimator has no price for this resource type")
        return Estimate(
            stack=stack,
            region=self.book.region,
            prices=self.book.describe(),
            prices_date=self.book.generated_on,
            assumptions=self.assumptions,
            lines=lines,
            not_priced=self.not_priced,
            free=[Free(t, n, self.free_reasons[t]) for t, n in sorted(self.free.items())],
        )

    # --- helpers the pricers share -------------------------------------------------------

    def price(self, key: str) -> Price:
        found = self.book.get(key)
        if found is None:
            why = self.book.not_recorded_reason(key)
            if why is not None:
                raise _NoPriceError(f"not priced (no recorded AWS price for `{key}`): {why}")
            raise _NoPriceError(
                f"no price `{key}` in the {self.book.region} price file; add it to "
                "scripts/cost/price_needs.py and run `python -m scripts.cost refresh-prices`"
            )
        return found

    def assume(self, name: str) -> Decimal:
        return self.assumptions[name].value

    def skip(self, resource: PlannedResource, reason: str) -> None:
        self.not_priced.append(NotPriced(resource.component, resource.name, resource.type, reason))

    def covered(self, resource: PlannedResource, reason: str) -> None:
        """Costs nothing of its own in this configuration (reason given), e.g. tasks on EC2."""
        label = f"{resource.type} ({reason})"
        self.free_reasons[label] = reason
        self.free[label] += 1

    def of_type(self, rtype: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == rtype]

    def with_output(self, rtype: str, output: str, value: Any) -> PlannedResource | None:
        if value in (None, ""):
            return None
        return next((r for r in self.of_type(rtype) if r.outputs.get(output) == value), None)


def _line(
    resource: PlannedResource,
    item: str,
    detail: str,
    monthly: Decimal,
    prices: Iterable[Price],
    *,
    usage: bool = False,
    note: str = "",
) -> CostLine:
    return CostLine(
        component=resource.component,
        resource=resource.name,
        item=item,
        detail=detail,
        monthly_usd=monthly,
        usage=usage,
        note=note,
        prices=tuple(p.key for p in prices),
    )


def _number(value: Decimal) -> str:
    """2 -> "2", 0.5 -> "0.5", 1000000 -> "1,000,000"."""
    return f"{value.normalize():,f}"


def _hourly(resource: PlannedResource, item: str, price: Price, count: int = 1) -> CostLine:
    what = f"{count} × 730 h" if count != 1 else "730 h"
    monthly = price.unit_price * HOURS_PER_MONTH * count
    return _line(resource, item, what, monthly, [price])


# --- pricers, one per resource type --------------------------------------------------------


def _nat_gateway(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    hours, processed = e.price("nat_gateway_hour"), e.price("nat_gateway_gb")
    gb = e.assume("nat_gb_processed_per_gateway")
    return [
        _hourly(r, "NAT gateway hours", hours),
        _line(r, "NAT data processed", f"{_number(gb)} GB", processed.cost(gb), [processed],
              usage=True),
    ]  # fmt: skip


def _elastic_ip(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    # Every public IPv4 address is billed by the hour since 2024-02-01, in use (a NAT gateway's)
    # or idle (AWS News Blog, 2023-07-28, "New - AWS Public IPv4 Address Charge + Public IP
    # Insights", https://aws.amazon.com/blogs/aws/new-aws-public-ipv4-address-charge-public-ip-insights/;
    # the rate is the AmazonVPC offer's `PublicIPv4:InUseAddress` product).
    return [_hourly(r, "public IPv4 address", e.price("public_ipv4_hour"))]


def _load_balancer(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    kind = r.inputs.get("loadBalancerType") or "application"
    if kind != "application":
        raise _NoPriceError(f"only Application Load Balancers are priced (this one is {kind})")
    hours, lcu = e.price("alb_hour"), e.price("alb_lcu_hour")
    lcus = e.assume("alb_average_lcus")
    lines = [
        _hourly(r, "load balancer hours", hours),
        _line(r, "load balancer capacity units", f"{_number(lcus)} LCU × 730 h",
              lcu.unit_price * lcus * HOURS_PER_MONTH, [lcu], usage=True),
    ]  # fmt: skip
    # An internet-facing load balancer has a node in each zone it is enabled in, and "the nodes
    # of an Internet-facing load balancer have public IP addresses" (Elastic Load Balancing API
    # reference, CreateLoadBalancer, `Scheme`); each is a public IPv4 address billed by the hour
    # (see _elastic_ip). An internal one, or `dualstack-without-public-ipv4`, has none.
    if not r.inputs.get("internal") and r.inputs.get("ipAddressType") != (
        "dualstack-without-public-ipv4"
    ):
        zones = len(r.inputs.get("subnets") or r.inputs.get("subnetMappings") or []) or 1
        ipv4 = e.price("public_ipv4_hour")
        lines.append(
            _line(r, "public IPv4 addresses (internet-facing)", f"{zones} × 730 h",
                  ipv4.unit_price * HOURS_PER_MONTH * zones, [ipv4],
                  note="one per zone at least; more while the load balancer scales out")
        )  # fmt: skip
    return lines


def _rds_instance(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    engine = r.inputs.get("engine")
    if engine != "postgres":
        raise _NoPriceError(f"only RDS for PostgreSQL is priced (engine: {engine})")
    deployment = "Multi-AZ" if r.inputs.get("multiAz") else "Single-AZ"
    instance_class = str(r.inputs.get("instanceClass"))
    # Multi-AZ has SKUs of its own (a standby in a second zone, twice the Single-AZ rate).
    hours = e.price(f"rds_postgresql:{deployment}:{instance_class}")
    lines = [
        _line(r, "database instance", f"{instance_class} {deployment} × 730 h",
              hours.unit_price * HOURS_PER_MONTH, [hours]),
    ]  # fmt: skip
    storage_type = r.inputs.get("storageType") or "gp2"
    gb = Decimal(str(r.inputs.get("allocatedStorage") or 0))
    if storage_type != "gp3":
        e.skip(r, f"database storage of type {storage_type} is not priced (gp3 is)")
        return lines
    storage = e.price(f"rds_gp3_gb_month:{deployment}")
    ceiling = r.inputs.get("maxAllocatedStorage")
    lines.append(
        _line(r, "database storage (gp3)", f"{_number(gb)} GB {deployment}",
              storage.unit_price * gb, [storage],
              note=f"grows up to {int(ceiling)} GB (storage autoscaling)" if ceiling else "")
    )  # fmt: skip
    return lines


def _ecs_service(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    service_name = str(r.inputs.get("name") or r.name)
    definition = e.with_output(
        "aws:ecs/taskDefinition:TaskDefinition", "arn", r.inputs.get("taskDefinition")
    )
    if definition is None:
        raise _NoPriceError("its task definition is not in the plan, so its size is unknown")
    count, basis = _task_count(e, r, service_name)
    lines = []
    for provider, tasks in _split_by_strategy(count, _strategy(e, r.inputs)):
        if provider == "FARGATE":
            lines.append(_fargate_tasks(e, r, definition, tasks, basis))
        elif provider == "FARGATE_SPOT":
            if tasks:
                e.skip(r, f"{tasks} Fargate Spot task(s): Spot prices vary and are not in the "
                          "AWS Price List (at most the on-demand rate)")  # fmt: skip
        else:
            e.covered(r, "runs on the cluster's EC2 instances, priced with their group")
    return lines


def _fargate_task_hour(
    e: _Estimator, definition: PlannedResource
) -> tuple[Decimal, list[Price], str, str]:
    """One task of `definition` for one hour on Fargate (on-demand): USD, the prices used, the
    task's size and its CPU architecture."""
    platform = definition.inputs.get("runtimePlatform") or {}
    architecture = str(platform.get("cpuArchitecture") or "X86_64")
    vcpu = Decimal(str(definition.inputs.get("cpu"))) / 1024
    memory_gb = Decimal(str(definition.inputs.get("memory"))) / 1024
    vcpu_price = e.price(f"fargate_vcpu_hour:{architecture}")
    gb_price = e.price(f"fargate_gb_hour:{architecture}")
    usd = vcpu * vcpu_price.unit_price + memory_gb * gb_price.unit_price
    size = f"{_number(vcpu)} vCPU, {_number(memory_gb)} GB"
    return usd, [vcpu_price, gb_price], size, architecture


def _fargate_tasks(
    e: _Estimator, r: PlannedResource, definition: PlannedResource, tasks: int, basis: str
) -> CostLine:
    usd, prices, size, architecture = _fargate_task_hour(e, definition)
    return _line(
        r, "Fargate tasks (on-demand)", f"{tasks} × {size} × 730 h",
        usd * HOURS_PER_MONTH * tasks, prices, note=f"{basis}; {architecture}",
    )  # fmt: skip


# EventBridge Scheduler's rate expressions: rate(value unit), unit minute(s), hour(s), day(s)
# (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
_MINUTES = {"minute": 1, "hour": 60, "day": 1440}


def _runs_per_month(expression: str) -> Decimal:
    match = _RATE.match(expression.strip())
    if match is None:
        raise _NoPriceError(
            f"schedule {expression!r}: only rate() schedules are priced (a cron() or at() "
            "schedule's runs a month are not counted)"
        )
    every = int(match["value"]) * _MINUTES[match["unit"].rstrip("s")]
    if every == 0:
        raise _NoPriceError(f"schedule {expression!r} has a zero interval")
    return HOURS_PER_MONTH * 60 / every


def _schedule(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    """A schedule that starts an ECS task: the task's Fargate time, run after run. Fargate bills
    per second with a one-minute minimum (https://aws.amazon.com/fargate/pricing/)."""
    ecs = (r.inputs.get("target") or {}).get("ecsParameters")
    if not ecs:
        raise _NoPriceError("only schedules that start ECS tasks are priced")
    runs = _runs_per_month(str(r.inputs.get("scheduleExpression") or ""))
    definition = e.with_output(
        "aws:ecs/taskDefinition:TaskDefinition", "arn", ecs.get("taskDefinitionArn")
    )
    if definition is None:
        raise _NoPriceError("its task definition is not in the plan, so its size is unknown")
    minutes = max(e.assume("scheduled_task_minutes_per_run"), Decimal(1))
    lines = []
    for provider, tasks in _split_by_strategy(int(ecs.get("taskCount") or 1), _strategy(e, ecs)):
        if not tasks:
            continue
        if provider == "FARGATE":
            usd, prices, size, architecture = _fargate_task_hour(e, definition)
            hours = runs * tasks * minutes / 60
            lines.append(
                _line(r, "scheduled task runs (Fargate, on-demand)",
                      f"{_number(runs)} runs × {tasks} × {size} × {_number(minutes)} min",
                      usd * hours, prices, usage=True, note=architecture)
            )  # fmt: skip
        elif provider == "FARGATE_SPOT":
            e.skip(r, f"{tasks} Fargate Spot task(s) a run: Spot prices vary and are not in the "
                      "AWS Price List (at most the on-demand rate)")  # fmt: skip
        else:
            e.covered(r, "its runs use the cluster's EC2 instances, priced with their group")
    e.skip(
        r,
        f"its {_number(runs)} invocations a month: not priced (no recorded AWS price for "
        "EventBridge Scheduler invocations)",
    )
    return lines


def _task_count(e: _Estimator, r: PlannedResource, service_name: str) -> tuple[int, str]:
    for target in e.of_type("aws:appautoscaling/target:Target"):
        resource_id = str(target.inputs.get("resourceId", ""))
        if resource_id.startswith("service/") and resource_id.endswith(f"/{service_name}"):
            floor, ceiling = target.inputs.get("minCapacity"), target.inputs.get("maxCapacity")
            up_to = f", scales up to {int(ceiling)}" if ceiling is not None else ""
            return int(floor or 0), f"autoscaling minimum{up_to}"
    return int(r.inputs.get("desiredCount") or 0), "desired count, no autoscaling"


def _strategy(e: _Estimator, launch: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Where tasks run: `launch` is what starts them (a service's inputs, a schedule's
    `ecsParameters`; both name `capacityProviderStrategies` or a `launchType`), else the
    cluster's default strategy."""
    own = launch.get("capacityProviderStrategies")
    if own:
        return list(own)
    if launch.get("launchType"):
        return [{"capacityProvider": launch["launchType"], "weight": 1, "base": 0}]
    for association in e.of_type("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"):
        default = association.inputs.get("defaultCapacityProviderStrategies")
        if default:
            return list(default)
    return [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]  # ECS's default launch type


def _split_by_strategy(count: int, strategy: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """ECS's placement: each provider's `base` first (in order), the rest by `weight`."""
    names = [str(s["capacityProvider"]) for s in strategy]
    given = dict.fromkeys(names, 0)
    remaining = count
    for entry in strategy:
        base = min(int(entry.get("base") or 0), remaining)
        given[str(entry["capacityProvider"])] += base
        remaining -= base
    weights = {str(s["capacityProvider"]): int(s.get("weight") or 0) for s in strategy}
    total_weight = sum(weights.values())
    if remaining and total_weight:
        shares = {n: remaining * w // total_weight for n, w in weights.items()}
        leftover = remaining - sum(shares.values())
        for name in sorted(weights, key=lambda n: -weights[n])[:leftover]:
            shares[name] += 1
        for name, share in shares.items():
            given[name] += share
    return list(given.items())


def _autoscaling_group(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    instances = int(r.inputs.get("minSize") or 0)
    template_ref = (r.inputs.get("launchTemplate") or {}).get("id")
    template = e.with_output("aws:ec2/launchTemplate:LaunchTemplate", "id", template_ref)
    if template is None:
        raise _NoPriceError(
            "its launch template is not in the plan, so its instance type is unknown"
        )
    instance_type = str(template.inputs.get("instanceType"))
    hours = e.price(f"ec2_linux_hour:{instance_type}")
    lines = [
        _line(r, "EC2 instances (Linux, on-demand)", f"{instances} × {instance_type} × 730 h",
              hours.unit_price * HOURS_PER_MONTH * instances, [hours],
              note=f"the group's minimum (max {int(r.inputs.get('maxSize') or 0)}); managed "
                   "scaling adds instances when the tasks need more"),
    ]  # fmt: skip
    for mapping in template.inputs.get("blockDeviceMappings") or []:
        ebs = mapping.get("ebs") or {}
        if ebs.get("volumeType") != "gp3":
            e.skip(r, f"EBS volume type {ebs.get('volumeType')} is not priced (gp3 is)")
            continue
        size = Decimal(str(ebs.get("volumeSize") or 0))
        gp3 = e.price("ebs_gp3_gb_month")
        lines.append(
            _line(r, "EBS volumes (gp3)", f"{instances} × {_number(size)} GB",
                  gp3.unit_price * size * instances, [gp3])
        )  # fmt: skip
    return lines


def _metric_alarm(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    period = r.inputs.get("period")
    if period is not None and int(period) < 60:
        raise _NoPriceError("high-resolution alarms (period under 60 s) are not priced")
    queries = r.inputs.get("metricQueries") or []
    # An alarm is billed per metric it evaluates: a metric-math alarm counts each metric in it.
    metrics = sum(1 for q in queries if q.get("metric")) or 1
    price = e.price("cloudwatch_alarm_month")
    return [_line(r, "alarm (standard resolution)", f"{metrics} alarm metric(s)",
                  price.unit_price * metrics, [price])]  # fmt: skip


def _scaling_policy(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    if r.inputs.get("policyType") != "TargetTrackingScaling":
        e.covered(r, "step and predictive policies use alarms the stack declares")
        return []
    # Target tracking creates and manages two CloudWatch alarms (scale out, scale in), billed
    # like any alarm (Application Auto Scaling user guide, "Target tracking scaling policies").
    price = e.price("cloudwatch_alarm_month")
    return [_line(r, "alarms of target tracking", "2 alarms", price.unit_price * 2, [price])]


def _log_group(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    ingested, stored = e.price("cloudwatch_logs_ingested_gb"), e.price("cloudwatch_logs_gb_month")
    gb = e.assume("log_gb_ingested_per_group")
    retention = r.inputs.get("retentionInDays")
    days = Decimal(int(retention)) if retention else Decimal(365)
    kept = gb * days / 30  # steady state: the last `days` of logs are kept
    return [
        _line(r, "logs ingested", f"{_number(gb)} GB", ingested.cost(gb), [ingested], usage=True),
        _line(r, "logs stored", f"{_number(kept.quantize(Decimal('0.01')))} GB "
              f"({int(days)} days kept)", stored.cost(kept), [stored], usage=True),
    ]  # fmt: skip


def _kms_key(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    note = (
        "each of its first two automatic rotations adds $1/month"
        if r.inputs.get("enableKeyRotation")
        else ""
    )
    price = e.price("kms_key_month")
    return [_line(r, "customer-managed key", "1 key", price.unit_price, [price], note=note)]


def _secret(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    price = e.price("secret_month")
    return [_line(r, "secret", "1 secret", price.unit_price, [price])]


def _bucket(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    gb = e.assume("s3_gb_stored_per_bucket")
    price = e.price("s3_standard_gb_month")
    return [_line(r, "S3 Standard storage", f"{_number(gb)} GB", price.cost(gb), [price],
                  usage=True)]  # fmt: skip


def _queue(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    fifo = bool(r.inputs.get("fifoQueue"))
    price = e.price("sqs_fifo_request" if fifo else "sqs_standard_request")
    requests = e.assume("sqs_requests_per_queue")
    return [
        _line(
            r,
            f"{'FIFO' if fifo else 'standard'} queue requests",
            f"{_number(requests)} requests",
            price.cost(requests),
            [price],
            usage=True,
        )
    ]


def _topic(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    if r.inputs.get("fifoTopic"):
        raise _NoPriceError(
            "FIFO topic: not priced (no recorded AWS price for SNS FIFO publishes and payload)"
        )
    price = e.price("sns_publish_request")
    publishes = e.assume("sns_publishes_per_topic")
    return [_line(r, "publishes", f"{_number(publishes)} requests", price.cost(publishes),
                  [price], usage=True)]  # fmt: skip


def _function(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    architectures = r.inputs.get("architectures") or ["x86_64"]
    architecture = str(architectures[0])
    requests, compute = (
        e.price(f"lambda_request:{architecture}"), e.price(f"lambda_gb_second:{architecture}")
    )  # fmt: skip
    invocations = e.assume("lambda_invocations_per_function")
    memory_gb = Decimal(int(r.inputs.get("memorySize") or 128)) / 1024
    gb_seconds = invocations * e.assume("lambda_average_duration_ms") / 1000 * memory_gb
    return [
        _line(r, "invocations", f"{_number(invocations)} requests", requests.cost(invocations),
              [requests], usage=True),
        _line(r, "compute", f"{_number(gb_seconds)} GB-s", compute.cost(gb_seconds), [compute],
              usage=True),
    ]  # fmt: skip


def _distribution(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    out, https = (
        e.price("cloudfront_out_gb:United States"),
        e.price("cloudfront_https_request:United States"),
    )
    gb, requests = e.assume("cloudfront_gb_out"), e.assume("cloudfront_https_requests")
    price_class = r.inputs.get("priceClass") or "PriceClass_All"
    note = f"{price_class}; viewers elsewhere are served at their edges' (higher) rates"
    return [
        _line(r, "distribution", "no monthly charge; pay per GB and request", Decimal(0), []),
        _line(r, "data transfer out", f"{_number(gb)} GB", out.cost(gb), [out], usage=True,
              note=note),
        _line(r, "HTTPS requests", f"{_number(requests)} requests", https.cost(requests), [https],
              usage=True),
    ]  # fmt: skip


def _vpc_endpoint(e: _Estimator, r: PlannedResource) -> list[CostLine]:
    kind = r.inputs.get("vpcEndpointType") or "Gateway"
    if kind == "Gateway":
        return [_line(r, "gateway endpoint", "no charge for gateway endpoints", Decimal(0), [])]
    zones = len(r.inputs.get("subnetIds") or []) or 1
    price = e.price("vpc_endpoint_hour")
    return [_line(r, f"{kind} endpoint hours", f"{zones} zone(s) × 730 h",
                  price.unit_price * HOURS_PER_MONTH * zones, [price])]  # fmt: skip


PRICERS: dict[str, Pricer] = {
    "aws:ec2/natGateway:NatGateway": _nat_gateway,
    "aws:ec2/eip:Eip": _elastic_ip,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:ecs/service:Service": _ecs_service,
    "aws:autoscaling/group:Group": _autoscaling_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:appautoscaling/policy:Policy": _scaling_policy,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:kms/key:Key": _kms_key,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:sqs/queue:Queue": _queue,
    "aws:sns/topic:Topic": _topic,
    "aws:lambda/function:Function": _function,
    "aws:cloudfront/distribution:Distribution": _distribution,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:scheduler/schedule:Schedule": _schedule,
}
