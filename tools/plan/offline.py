"""Runs the real program (`platform/__main__.py`) offline, under Pulumi's documented mocks.

The one harness behind `make plan`, `make plan-diff` and the tests, so they cannot disagree. AWS
and the Pulumi engine are replaced by `OfflineAws` (fake but well-formed ARNs, URLs, digests) and
a monitor that records every resource with its parent and its inputs exactly as the engine
(and a CrossGuard policy) would see them: camelCase property names, JSON documents as strings.

Pulumi's runtime is process-global; `evaluate_stack` resets the root stack, the mocks and the
config before each run, so several stacks can be evaluated one after another in one process.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.bootstrap_config import BOOTSTRAP_PROJECT, BootstrapConfig, parse_bootstrap_config
from infra.config import PROJECT, StackConfig, parse_stack_config
from tools.paths import REPO_ROOT

PROGRAM = REPO_ROOT / "platform" / "__main__.py"
BOOTSTRAP_DIR = REPO_ROOT / "platform" / "bootstrap"
ACCOUNT_ID = "123456789012"
SECRET_KEYS = (
    f"{PROJECT}:jwt_secret",
    f"{PROJECT}:origin_verify_secret",
    f"{PROJECT}:dockerhub_username",
    f"{PROJECT}:dockerhub_token",
)
# Stand-ins for `pulumi config set --secret` values, which live encrypted outside the repo.
OFFLINE_SECRETS = {
    f"{PROJECT}:jwt_secret": "offline-plan-jwt-secret-0123456789abcdefghijklmnop",
}
# AWS-managed CloudFront policies: the same ids in every account.
MANAGED_POLICY_IDS = {
    "Managed-CachingOptimized": "658327ea-f89d-4fab-a63d-7e88639e58f6",
    "Managed-CachingDisabled": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    "Managed-AllViewerExceptHostHeader": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
    "Managed-SecurityHeadersPolicy": "67f7725c-6f97-4210-82d7-5512b31e9d03",
}
CLOUDFRONT_PREFIX_LIST_ID = "pl-3b927c52"
# The IPv4 entries of com.amazonaws.global.cloudfront.origin-facing: AWS's CLOUDFRONT_ORIGIN_FACING
# prefixes of https://ip-ranges.amazonaws.com/ip-ranges.json (snapshot, createDate 2026-08-31).
# Real data, so what the program derives from the lookup (TRUSTED_PROXIES) is checked against it.
CLOUDFRONT_ORIGIN_FACING_CIDRS = (
    "130.176.88.0/21", "54.239.134.0/23", "52.82.134.0/23", "130.176.86.0/23",
    "130.176.140.0/22", "130.176.0.0/18", "54.239.204.0/22", "130.176.160.0/19",
    "70.132.0.0/18", "15.158.0.0/16", "130.176.136.0/23", "54.239.170.0/23",
    "130.176.96.0/19", "54.182.184.0/22", "204.246.166.0/24", "130.176.64.0/21",
    "54.182.172.0/22", "205.251.218.0/24", "130.176.144.0/20", "54.182.176.0/21",
    "130.176.78.0/23", "54.182.248.0/22", "64.252.128.0/18", "54.182.154.0/23",
    "64.252.64.0/18", "54.182.144.0/21", "54.182.224.0/21", "130.176.128.0/21",
    "52.46.0.0/18", "3.172.64.0/18", "52.82.128.0/23", "18.68.0.0/16",
    "54.182.156.0/22", "54.182.160.0/21", "54.182.240.0/21", "130.176.192.0/19",
    "130.176.76.0/24", "54.239.208.0/21", "54.182.188.0/23", "24.110.128.0/17",
    "3.172.0.0/18", "130.176.80.0/22", "54.182.128.0/20", "130.176.72.0/22",
    "13.124.199.0/24", "3.29.57.0/26",
)  # fmt: skip
# Zone ids of the offline region's zones a..f, in name order. AWS maps names to ids per account;
# here use1-az3 (short of newer instance classes) is the second zone, so a program that does not
# exclude it puts a subnet there.
AVAILABILITY_ZONE_IDS = ("use1-az1", "use1-az3", "use1-az2", "use1-az4", "use1-az6", "use1-az5")


# --- what an evaluation returns --------------------------------------------------------------


@dataclass(frozen=True)
class RecordedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    state: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    provider: str | None = None  # "<provider urn>::<id>" when not the default provider
    protect: bool = False  # the `protect` resource option, as the engine receives it
    # `customTimeouts` as registered ({"create": "45m", ...}); empty: the provider's defaults.
    custom_timeouts: dict[str, str] = field(default_factory=dict)


@dataclass
class EvaluatedStack:
    stack: str
    config: StackConfig
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    invokes: list[str] = field(default_factory=list)

    def of_type(self, rtype: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == rtype]

    def named(self, rtype: str, name: str) -> RecordedResource:
        matches = [r for r in self.of_type(rtype) if r.name == name]
        if len(matches) != 1:
            known = ", ".join(r.name for r in self.of_type(rtype)) or "none"
            raise KeyError(f"{len(matches)} {rtype} named {name!r}; there are: {known}")
        return matches[0]

    def by_urn(self, urn: str) -> RecordedResource:
        return next(r for r in self.resources if r.urn == urn)

    def children(self, urn: str | None) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == urn]

    @property
    def root_urn(self) -> str | None:
        stacks = [r.urn for r in self.resources if r.type == "pulumi:pulumi:Stack"]
        return stacks[0] if stacks else None


# --- the fake AWS ------------------------------------------------------------------------------


def _short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


class OfflineAws(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes the way AWS would shape them."""

    def __init__(self, stack: str, region: str) -> None:
        self.stack = stack
        self.region = region
        self.invokes: list[str] = []
        self._lock = threading.Lock()

    # invokes ---------------------------------------------------------------------------------
    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        with self._lock:
            self.invokes.append(args.token)
        rtype, a, region = args.token, args.args, self.region
        answers: dict[str, Any] = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline-plan",
                "userId": "AIDAOFFLINEPLAN",
                "id": ACCOUNT_ID,
            },
            "aws:index/getRegion:getRegion": {
                "name": region,
                "region": region,
                "id": region,
                "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region,
            },
        }
        if rtype in answers:
            return answers[rtype], []
        if rtype == "aws:index/getAvailabilityZones:getAvailabilityZones":
            # A real account's us-east-1: six zones, names mapped to ids per account, and the
            # zone ids the caller excludes left out (as AWS does with ExcludeZoneIds).
            excluded = set(a.get("excludeZoneIds") or [])
            zones = [
                (name, zone_id)
                for name, zone_id in zip(
                    (f"{region}{s}" for s in "abcdef"), AVAILABILITY_ZONE_IDS, strict=True
                )
                if zone_id not in excluded
            ]
            return {
                "id": region,
                "names": [name for name, _ in zones],
                "zoneIds": [zone_id for _, zone_id in zones],
                "groupNames": [region] * len(zones),
            }, []
        if rtype == "aws:ssm/getParameter:getParameter":
            name = a["name"]
            return {
                "id": name,
                "name": name,
                "arn": f"arn:aws:ssm:{region}::parameter{name}",
                "type": "String",
                "value": f"ami-0{_short_hash(name, length=16)}",
                "insecureValue": f"ami-0{_short_hash(name, length=16)}",
                "version": 1,
                "withDecryption": True,
            }, []
        if rtype in (
            "aws:cloudfront/getCachePolicy:getCachePolicy",
            "aws:cloudfront/getOriginRequestPolicy:getOriginRequestPolicy",
            "aws:cloudfront/getResponseHeadersPolicy:getResponseHeadersPolicy",
        ):
            name = a.get("name", "")
            if name not in MANAGED_POLICY_IDS:
                raise KeyError(f"no managed CloudFront policy named {name!r}")
            return {"id": MANAGED_POLICY_IDS[name], "name": name, "etag": "E1OFFLINE"}, []
        if rtype == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            return {
                "id": CLOUDFRONT_PREFIX_LIST_ID,
                "name": a.get("name"),
                "arn": f"arn:aws:ec2:{region}:aws:prefix-list/{CLOUDFRONT_PREFIX_LIST_ID}",
                "addressFamily": "IPv4",
                "maxEntries": 55,
                "ownerId": "AWS",
                "entries": [
                    {"cidr": cidr, "description": ""} for cidr in CLOUDFRONT_ORIGIN_FACING_CIDRS
                ],
                "version": 1,
            }, []
        if rtype == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "id": region,
                "userName": "AWS",
                "password": "offline-ecr-rtype",
                "authorizationToken": "QVdTOm9mZmxpbmU=",
                "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com",
                "expiresAt": "2099-01-01T00:00:00Z",
            }, []
        raise NotImplementedError(
            f"the offline mocks do not answer the invoke {rtype}; add an answer in "
            "tools/plan/offline.py (OfflineAws.call)"
        )

    # resources -------------------------------------------------------------------------------
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        state = dict(inputs)
        rtype, name, region = args.typ, args.name, self.region
        h = _short_hash(self.stack, rtype, name)
        physical = inputs.get("name") or (
            f"{inputs['namePrefix']}{h}" if inputs.get("namePrefix") else f"{name}-{h[:7]}"
        )
        service = rtype.split(":")[1].split("/")[0] if ":" in rtype else "component"
        kind = rtype.rsplit(":", 1)[-1].lower()
        arn = f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{kind}/{physical}"
        resource_id = f"{name}-{h}"

        if rtype == "aws:sqs/queue:Queue":
            url = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{physical}"
            arn, resource_id = f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{physical}", url
            state["url"] = url
        elif rtype == "aws:sns/topic:Topic":
            arn = f"arn:aws:sns:{region}:{ACCOUNT_ID}:{physical}"
            resource_id = arn
        elif rtype == "aws:sns/topicSubscription:TopicSubscription":
            arn = f"{inputs.get('topic')}:{h}"
        elif rtype.startswith("aws:iam/"):
            kind = {"Role": "role", "InstanceProfile": "instance-profile", "Policy": "policy"}.get(
                rtype.rsplit(":", 1)[-1], "resource"
            )
            if rtype == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
                host = str(inputs.get("url", "")).removeprefix("https://")
                arn = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}"
            else:
                arn = f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{physical}"
            state.setdefault("uniqueId", f"AROA{h.upper()}")
            resource_id = physical if kind != "resource" else resource_id
        elif rtype == "aws:ecr/repository:Repository":
            state["repositoryUrl"] = f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{physical}"
            state["registryId"] = ACCOUNT_ID
            arn = f"arn:aws:ecr:{region}:{ACCOUNT_ID}:repository/{physical}"
        elif rtype == "docker:index/image:Image":
            image_name = str(inputs.get("imageName", ""))
            repository = image_name.rsplit(":", 1)[0]
            digest = hashlib.sha256(image_name.encode()).hexdigest()
            state["repoDigest"] = f"{repository}@sha256:{digest}"
            state["baseImageName"] = image_name
        elif rtype == "docker:index/remoteImage:RemoteImage":
            pulled = str(inputs.get("name", ""))
            state["imageId"] = "sha256:" + hashlib.sha256(pulled.encode()).hexdigest()
            state["repoDigest"] = pulled if "@sha256:" in pulled else ""
        elif rtype == "docker:index/tag:Tag":
            source = str(inputs.get("sourceImage", ""))
            state["sourceImageId"] = "sha256:" + hashlib.sha256(source.encode()).hexdigest()
        elif rtype == "docker:index/registryImage:RegistryImage":
            pushed = str(inputs.get("name", ""))
            state["sha256Digest"] = "sha256:" + hashlib.sha256(pushed.encode()).hexdigest()
        elif rtype == "aws:rds/instance:Instance":
            identifier = inputs.get("identifier") or physical
            address = f"{identifier}.c{h}.{region}.rds.amazonaws.com"
            state.update(
                address=address,
                endpoint=f"{address}:{inputs.get('port', 5432)}",
                masterUserSecrets=[
                    {
                        "secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:"
                        f"rds!db-{h}-{h[:6]}",
                        "secretStatus": "active",
                        "kmsKeyId": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{h}",
                    }
                ],
            )
            arn = f"arn:aws:rds:{region}:{ACCOUNT_ID}:db:{identifier}"
        elif rtype == "aws:secretsmanager/secret:Secret":
            arn = f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{physical}-{h[:6]}"
            resource_id = arn
        elif rtype == "aws:lb/loadBalancer:LoadBalancer":
            suffix = f"app/{physical[:24]}/{h}"
            arn = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:loadbalancer/{suffix}"
            prefix = "internal-" if inputs.get("internal") else ""
            state.update(
                arnSuffix=suffix,
                dnsName=f"{prefix}{physical[:24]}-{h}.{region}.elb.amazonaws.com",
                zoneId="Z35SXDOTRQ7X7K",
            )
        elif rtype == "aws:lb/targetGroup:TargetGroup":
            suffix = f"targetgroup/{physical[:24]}/{h}"
            arn = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:{suffix}"
            state["arnSuffix"] = suffix
        elif rtype in ("aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule"):
            arn = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:listener/app/{h}/{name}"
        elif rtype == "aws:ecs/cluster:Cluster":
            arn = f"arn:aws:ecs:{region}:{ACCOUNT_ID}:cluster/{physical}"
        elif rtype == "aws:ecs/service:Service":
            arn = f"arn:aws:ecs:{region}:{ACCOUNT_ID}:service/{physical}"
        elif rtype == "aws:ecs/taskDefinition:TaskDefinition":
            family = inputs.get("family", physical)
            arn = f"arn:aws:ecs:{region}:{ACCOUNT_ID}:task-definition/{family}:1"
            state.update(revision=1, arnWithoutRevision=arn.rsplit(":", 1)[0])
        elif rtype == "aws:lambda/function:Function":
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{physical}"
            resource_id = physical
            state.update(
                qualifiedArn=f"{arn}:$LATEST",
                invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}"
                "/invocations",
                version="$LATEST",
            )
        elif rtype == "aws:cloudwatch/logGroup:LogGroup":
            arn = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{physical}"
        elif rtype == "aws:cloudwatch/metricAlarm:MetricAlarm":
            arn = f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{physical}"
        elif rtype == "aws:kms/key:Key":
            state["keyId"] = f"{h}-0000-4000-8000-{h}{h[:4]}"
            arn = f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{state['keyId']}"
        elif rtype == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}{h}"
            state.update(
                bucket=bucket, bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com"
            )
            arn, resource_id = f"arn:aws:s3:::{bucket}", bucket
        elif rtype == "aws:cloudfront/distribution:Distribution":
            resource_id = f"E{h.upper()}OFF"
            arn = f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{resource_id}"
            state.update(domainName=f"d{h}.cloudfront.net", hostedZoneId="Z2FDTNDATAQYW2")
        elif rtype == "aws:cloudfront/vpcOrigin:VpcOrigin":
            resource_id = f"vo_{h}"
            arn = f"arn:aws:cloudfront::{ACCOUNT_ID}:vpcorigin/{resource_id}"
        elif rtype == "aws:acm/certificate:Certificate":
            domain = inputs.get("domainName", "example.com")
            arn = f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/{h}"
            state["domainValidationOptions"] = [
                {
                    "domainName": domain,
                    "resourceRecordName": f"_{h}.{domain}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_{h[::-1]}.acm-validations.aws.",
                }
            ]
        elif rtype == "aws:acm/certificateValidation:CertificateValidation":
            state["certificateArn"] = inputs.get("certificateArn")
        elif rtype == "aws:route53/record:Record":
            state["fqdn"] = str(inputs.get("name", "")).rstrip(".")
        elif rtype == "aws:ec2/vpc:Vpc":
            resource_id = f"vpc-{h}"
        elif rtype.startswith("aws:ec2/") or rtype.startswith("aws:vpc/"):
            short = {
                "Subnet": "subnet", "SecurityGroup": "sg", "RouteTable": "rtb", "NatGateway": "nat",
                "InternetGateway": "igw", "Eip": "eipalloc", "VpcEndpoint": "vpce",
                "LaunchTemplate": "lt", "SecurityGroupIngressRule": "sgr",
                "SecurityGroupEgressRule": "sgr",
            }.get(rtype.rsplit(":", 1)[-1], "r")  # fmt: skip
            resource_id = f"{short}-{h}{h[:9]}"
            arn = f"arn:aws:ec2:{region}:{ACCOUNT_ID}:{short}/{resource_id}"
            if rtype == "aws:ec2/launchTemplate:LaunchTemplate":
                state.update(latestVersion=1, defaultVersion=1)
        elif rtype == "aws:autoscaling/group:Group":
            arn = (
                f"arn:aws:autoscaling:{region}:{ACCOUNT_ID}:autoScalingGroup:{h}:"
                f"autoScalingGroupName/{physical}"
            )

        state.setdefault("arn", arn)
        state.setdefault("id", resource_id)
        if rtype.startswith("aws:") and "tags" in inputs:
            state["tagsAll"] = inputs["tags"]
        if rtype in (
            "aws:ecs/cluster:Cluster", "aws:ecs/service:Service", "aws:iam/role:Role",
            "aws:sns/topic:Topic", "aws:sqs/queue:Queue", "aws:cloudwatch/logGroup:LogGroup",
            "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:ecs/capacityProvider:CapacityProvider",
            "aws:autoscaling/group:Group", "aws:iam/instanceProfile:InstanceProfile",
            "aws:secretsmanager/secret:Secret", "aws:rds/subnetGroup:SubnetGroup",
            "aws:lambda/function:Function",
        ):  # fmt: skip
            state["name"] = physical
        return resource_id, state


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock engine, plus a record of each registration: parent, inputs, dependencies."""

    def __init__(self, mocks: OfflineAws) -> None:
        super().__init__(mocks)
        self.records: list[RecordedResource] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        inputs = rpc.deserialize_properties(request.object)
        registration = self.resources.get(response.urn)
        record = RecordedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            inputs=_plain(inputs),
            state=_plain(dict(registration.state)) if registration else {},
            dependencies=tuple(request.dependencies),
            provider=request.provider or None,
            protect=bool(request.protect),
            custom_timeouts={
                key: value
                for key in ("create", "update", "delete")
                if (value := getattr(request.customTimeouts, key, ""))
            },
        )
        with self._lock:
            self.records.append(record)
        return response


def _plain(value: Any) -> Any:
    """Strips Pulumi's secret wrappers so tests and policies see values, as CrossGuard does."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- configuration -------------------------------------------------------------------------------


def stack_file(stack: str, project_dir: Path = REPO_ROOT) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def raw_stack_config(
    stack: str,
    overrides: Mapping[str, str | None] | None = None,
    project_dir: Path = REPO_ROOT,
) -> dict[str, str]:
    """The stack file's config as the engine passes it (strings; objects as JSON), + overrides."""
    path = stack_file(stack, project_dir)
    if not path.is_file():
        raise FileNotFoundError(f"no stack file {path.name}; create it (see platform/README.md)")
    document = yaml.safe_load(path.read_text()) or {}
    raw: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and "secure" in value:
            continue  # encrypted with the stack's secrets provider: use OFFLINE_SECRETS instead
        if isinstance(value, str):
            raw[key] = value
        elif isinstance(value, bool):
            raw[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            raw[key] = str(value)
        else:
            raw[key] = json.dumps(value)
    if project_dir == REPO_ROOT:
        for key, secret in OFFLINE_SECRETS.items():
            raw.setdefault(key, secret)
    for key, override in (overrides or {}).items():
        if override is None:
            raw.pop(key, None)
        else:
            raw[key] = override
    return raw


# --- evaluation --------------------------------------------------------------------------------

_EVALUATION_LOCK = threading.Lock()


@dataclass
class ProgramRun:
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    invokes: list[str]
    error: BaseException | None


def run_under_mocks(
    program: Callable[[], Any],
    *,
    stack: str,
    region: str = "us-east-1",
    raw_config: Mapping[str, str] | None = None,
    project: str = PROJECT,
) -> ProgramRun:
    """Runs `program` against fresh mocks, root stack and config; never raises its error."""
    raw = dict(raw_config or {})
    with _EVALUATION_LOCK:
        mocks = OfflineAws(stack, region)
        monitor = RecordingMonitor(mocks)
        settings.reset_options(project=project, stack=stack, preview=False)
        pulumi.runtime.set_mocks(
            mocks, project=project, stack=stack, preview=False, monitor=monitor
        )
        pulumi.runtime.set_all_config(raw, [k for k in SECRET_KEYS if k in raw])
        resolved: dict[str, Any] = {}

        def run() -> None:
            program()
            root = settings.get_root_resource()
            outputs = getattr(root, "outputs", {})
            resolved.update(_sync_await(pulumi.Output.from_input(outputs).future()) or {})

        error: BaseException | None = None
        try:
            _sync_await(run_pulumi_func(run))
        except Exception as exc:  # handed back to the caller in ProgramRun
            error = exc
        return ProgramRun(
            resources=list(monitor.records),
            outputs=_plain(resolved),
            invokes=list(mocks.invokes),
            error=error,
        )


def run_program(stack: str, raw_config: Mapping[str, str]) -> ProgramRun:
    """Runs platform/__main__.py itself (what `pulumi up` runs) with the given raw config."""
    region = raw_config.get("aws:region") or "us-east-1"
    return run_under_mocks(
        lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
        stack=stack,
        region=region,
        raw_config=raw_config,
    )


E = TypeVar("E", bound="EvaluatedStack")


def _evaluated(kind: type[E], stack: str, config: Any, run: ProgramRun) -> E:
    """The evaluation of a finished run, or the run's own error (a config error among them)."""
    if run.error is not None:
        raise run.error
    return kind(
        stack=stack,
        config=config,
        resources=run.resources,
        outputs=run.outputs,
        invokes=run.invokes,
    )


def evaluate_stack(stack: str, overrides: Mapping[str, str | None] | None = None) -> EvaluatedStack:
    """Runs platform/__main__.py for `stack` under the mocks; returns resources and outputs.

    `overrides` replaces config values (`None` removes one): how the tests try other settings.
    A configuration error propagates as `infra.config.ConfigError`.
    """
    raw = raw_stack_config(stack, overrides)
    config = parse_stack_config(raw, stack)  # fail fast, with the same message as the program
    return _evaluated(EvaluatedStack, stack, config, run_program(stack, raw))


@dataclass
class EvaluatedBootstrap(EvaluatedStack):
    """The bootstrap program (platform/bootstrap/) evaluated under the same mocks."""

    config: BootstrapConfig  # type: ignore[assignment]  # the bootstrap's own settings


def evaluate_bootstrap(
    stack: str = "shipyard", overrides: Mapping[str, str | None] | None = None
) -> EvaluatedBootstrap:
    """Runs platform/bootstrap/__main__.py for `stack` (its Pulumi.<stack>.yaml) under mocks."""
    raw = raw_stack_config(stack, overrides, project_dir=BOOTSTRAP_DIR)
    config = parse_bootstrap_config(raw, stack)
    run = run_under_mocks(
        lambda: runpy.run_path(str(BOOTSTRAP_DIR / "__main__.py"), run_name="__main__"),
        stack=stack,
        region=config.region,
        raw_config=raw,
        project=BOOTSTRAP_PROJECT,
    )
    return _evaluated(EvaluatedBootstrap, stack, config, run)
