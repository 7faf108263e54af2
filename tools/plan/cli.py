"""Offline plan: the Pulumi program evaluated under mocks, printed as a resource tree.

    python -m tools.plan staging              # the tree, with the settings that matter
    python -m tools.plan --diff staging prod  # only what differs between the two stacks
    python -m tools.plan --bootstrap shipyard # the account bootstrap (platform/bootstrap/)
    python -m tools.plan staging --cost-json cost.json  # also write the cost estimate as JSON

After the tree (or the differences), the stack's monthly cost estimate at AWS's list prices for
its region, broken down by building block (scripts/cost; the usage it assumes is stated and may
be changed with --assume NAME=VALUE or --assumptions FILE). The bootstrap is not priced.

No Pulumi CLI, AWS account or Docker engine is needed: this runs `platform/__main__.py` through
`tools.plan.offline.evaluate_stack`, the same harness the tests use. IDs and ARNs are fake; the
shape, the settings and the differences are real. A configuration error exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.config import ConfigError
from scripts.cost.assumptions import AssumptionError
from scripts.cost.estimate import Estimate
from scripts.cost.price_book import PriceBookError
from scripts.cost.report import difference_lines, estimate_lines
from tools.plan.costs import estimate_stack
from tools.plan.offline import (
    EvaluatedStack,
    RecordedResource,
    evaluate_bootstrap,
    evaluate_stack,
)

# Per resource type, the inputs worth reading in a plan (dotted paths into the inputs).
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:s3/bucket:Bucket": ("bucket",),
    "aws:kms/key:Key": ("enableKeyRotation",),
    "aws:iam/policy:Policy": ("name",),
    "aws:ec2/subnet:Subnet": ("availabilityZone", "cidrBlock"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcEndpointType"),
    "aws:ecr/repository:Repository": (
        "name", "imageTagMutability", "imageScanningConfiguration.scanOnPush",
    ),
    "docker:index/image:Image": ("build.platform",),
    "aws:rds/instance:Instance": (
        "instanceClass", "engineVersion", "allocatedStorage", "multiAz", "deletionProtection",
        "backupRetentionPeriod", "storageEncrypted", "publiclyAccessible",
    ),
    "aws:sns/topic:Topic": ("name", "fifoTopic"),
    "aws:sqs/queue:Queue": ("name", "visibilityTimeoutSeconds", "redrivePolicy.maxReceiveCount"),
    "aws:sns/topicSubscription:TopicSubscription": (
        "protocol", "rawMessageDelivery", "filterPolicy",
    ),
    "aws:lambda/function:Function": (
        "name", "handler", "runtime", "timeout", "reservedConcurrentExecutions",
    ),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ("maximumRetryAttempts",),
    "docker:index/tag:Tag": ("targetImage",),
    "aws:ecs/cluster:Cluster": ("name",),
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": (
        "defaultCapacityProviderStrategies",
    ),
    "aws:ecs/capacityProvider:CapacityProvider": (
        "autoScalingGroupProvider.managedScaling.targetCapacity",
        "autoScalingGroupProvider.managedTerminationProtection",
        "autoScalingGroupProvider.managedDraining",
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": ("instanceType",),
    "aws:autoscaling/group:Group": ("minSize", "maxSize"),
    "aws:lb/loadBalancer:LoadBalancer": ("internal", "idleTimeout"),
    "aws:lb/targetGroup:TargetGroup": (
        "deregistrationDelay", "healthCheck.path", "healthCheck.interval",
        "healthCheck.healthyThreshold",
    ),
    "aws:ecs/taskDefinition:TaskDefinition": (
        "family", "cpu", "memory", "requiresCompatibilities", "runtimePlatform.cpuArchitecture",
        "containerDefinitions[0].command", "containerDefinitions[0].stopTimeout",
    ),
    "aws:ecs/service:Service": (
        "name", "desiredCount", "deploymentMinimumHealthyPercent", "deploymentMaximumPercent",
        "deploymentConfiguration.strategy", "deploymentConfiguration.bakeTimeInMinutes",
        "deploymentCircuitBreaker.rollback", "healthCheckGracePeriodSeconds",
        "capacityProviderStrategies", "networkConfiguration.assignPublicIp",
    ),
    "aws:appautoscaling/target:Target": ("minCapacity", "maxCapacity"),
    "aws:appautoscaling/policy:Policy": (
        "targetTrackingScalingPolicyConfiguration.targetValue",
        "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType",
    ),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("metricName", "threshold"),
    "aws:cloudfront/distribution:Distribution": ("priceClass", "aliases"),
    "aws:iam/role:Role": ("name", "maxSessionDuration"),
    "aws:ec2/natGateway:NatGateway": (),
}  # fmt: skip

_MISSING = object()


def setting(inputs: dict[str, Any], path: str) -> Any:
    """Reads a dotted path (`a.b[0].c`) from inputs, decoding JSON strings on the way."""
    value: Any = inputs
    for part in path.replace("[", ".[").split("."):
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                return _MISSING
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(value, list) or index >= len(value):
                return _MISSING
            value = value[index]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def key_settings(resource: RecordedResource) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in KEY_SETTINGS.get(resource.type, ()):
        value = setting(resource.inputs, path)
        if value is not _MISSING:
            found[path] = value
    return found


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, list | dict):
        return json.dumps(_ints(value), separators=(",", ":"))
    return str(value).lower() if isinstance(value, bool) else str(value)


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    return value


def tree_lines(stack: EvaluatedStack) -> Iterator[str]:
    def walk(urn: str | None, indent: str) -> Iterator[str]:
        # Registration order is asynchronous; sorting by name keeps plans stable and diffable.
        children = sorted(stack.children(urn), key=lambda r: (r.custom, r.name, r.type))
        for index, child in enumerate(children):
            last = index == len(children) - 1
            branch, extension = ("└─ ", "   ") if last else ("├─ ", "│  ")
            details = " ".join(f"{k}={_show(v)}" for k, v in key_settings(child).items())
            yield f"{indent}{branch}{child.type} {child.name}" + (f"  {details}" if details else "")
            yield from walk(child.urn, indent + extension)

    root = stack.root_urn
    yield f"{stack.config.prefix} (pulumi:pulumi:Stack)"
    yield from walk(root, "")


def print_plan(stack: EvaluatedStack) -> None:
    counts = Counter(r.type for r in stack.resources if r.custom)
    print(
        f"# offline plan of stack '{stack.stack}' "
        f"({getattr(stack.config, 'environment', 'account bootstrap')}, {stack.config.region})"
    )
    print(f"# {sum(counts.values())} resources; under mocks: ids and ARNs are placeholders\n")
    for line in tree_lines(stack):
        print(line)
    print("\n# outputs")
    for name, value in stack.outputs.items():
        print(f"{name} = {_show(value)}")


def comparable(stack: EvaluatedStack) -> dict[str, dict[str, str]]:
    """(type name) -> settings; the stack's own name is neutralised so real differences show."""
    prefix, slashed = stack.config.prefix, "/" + stack.config.prefix.replace("-", "/", 1)
    table: dict[str, dict[str, str]] = {}
    for resource in stack.resources:
        if not resource.custom:
            continue
        shown = {
            k: _show(v).replace(prefix, "shipyard-<stack>").replace(slashed, "/shipyard/<stack>")
            for k, v in key_settings(resource).items()
        }
        table[f"{resource.type} {resource.name}"] = shown
    return table


def diff_lines(left: EvaluatedStack, right: EvaluatedStack) -> Iterator[str]:
    a, b = comparable(left), comparable(right)
    yield f"# {left.stack} -> {right.stack}: what differs (everything else is identical)"
    yield "\n## settings (Pulumi.<stack>.yaml)"
    for key in sorted(set(left.config.__dict__) | set(right.config.__dict__)):
        if key in ("stack", "jwt_secret", "origin_verify_secret"):
            continue
        va, vb = getattr(left.config, key), getattr(right.config, key)
        if va != vb:
            yield f"  {key}: {_show_config(va)} -> {_show_config(vb)}"
    only_left = sorted(set(a) - set(b))
    only_right = sorted(set(b) - set(a))
    yield f"\n## resources only in {left.stack} ({len(only_left)})"
    yield from (f"  - {k}" for k in only_left)
    yield f"\n## resources only in {right.stack} ({len(only_right)})"
    yield from (f"  + {k}" for k in only_right)
    yield "\n## changed settings of resources in both"
    for key in sorted(set(a) & set(b)):
        for path in sorted(set(a[key]) | set(b[key])):
            va, vb = a[key].get(path, "(unset)"), b[key].get(path, "(unset)")
            if va != vb:
                yield f"  {key}: {path}: {va} -> {vb}"


def _show_config(value: Any) -> str:
    if hasattr(value, "__dataclass_fields__"):
        return _show({k: getattr(value, k) for k in value.__dataclass_fields__})
    return _show(
        value if isinstance(value, int | float | bool | list | dict | type(None)) else str(value)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.plan", description=__doc__.split("\n")[0]
    )
    parser.add_argument("stacks", nargs="+", help="stack name(s): staging, prod")
    parser.add_argument("--diff", action="store_true", help="compare exactly two stacks")
    parser.add_argument(
        "--bootstrap", action="store_true", help="stacks of platform/bootstrap/ (one per account)"
    )
    parser.add_argument(
        "--cost-json", type=Path, help="write the (one) stack's cost estimate to this JSON file"
    )
    parser.add_argument(
        "--assume",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change a usage assumption of the estimate (scripts/cost/assumptions.json)",
    )
    parser.add_argument("--assumptions", type=Path, help="a JSON file of NAME: VALUE assumptions")
    args = parser.parse_args(argv)
    if args.diff and len(args.stacks) != 2:
        parser.error("--diff compares exactly two stacks, e.g. --diff staging prod")
    if args.cost_json and (len(args.stacks) != 1 or args.bootstrap):
        parser.error("--cost-json writes one app stack's estimate: name exactly one stack")
    try:
        evaluate = evaluate_bootstrap if args.bootstrap else evaluate_stack
        evaluated = [evaluate(name) for name in args.stacks]
        estimates: list[Estimate] = (
            []
            if args.bootstrap
            else [
                estimate_stack(s, assumptions_file=args.assumptions, assume=args.assume)
                for s in evaluated
            ]
        )
    except (ConfigError, FileNotFoundError, AssumptionError, PriceBookError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.diff:
        for line in diff_lines(*evaluated):
            print(line)
        for line in difference_lines(*estimates) if estimates else ():
            print(line)
    else:
        for index, stack in enumerate(evaluated):
            if index:
                print()
            print_plan(stack)
            if estimates:
                print()
                for line in estimate_lines(estimates[index]):
                    print(line)
    if args.cost_json:
        args.cost_json.write_text(estimates[0].dumps(), encoding="utf-8")
        print(f"\n# wrote the estimate to {args.cost_json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
