"""A fake AWS account for Pulumi's mocks: what AWS would answer, per resource type and per invoke.

Two tables hold every answer: `RESOURCES` (resource type -> function computing its id, ARN and
outputs) and `INVOKES` (invoke token -> function computing the data source's result). Teaching
the fake a new type is one row (and, when the default does not fit, a small function above it).

What a resource type without a row gets (the default, enough for most types):
- its outputs are its inputs, plus `arn` and `id` unless an input already has that name;
- `arn` = `arn:aws:<module>:<region>:<account>:<type name, lower case>/<physical name>`;
- `id` = `<logical name>-<hash>`; the hash is stable per (stack, type, logical name), so a plan
  is the same from one run to the next;
- the physical name is the `name` input, else `namePrefix` + hash, else `<logical name>-<hash7>`;
- for every `aws:` type with `tags`, `tagsAll` = `tags` (no provider default tags here).
An invoke without a row raises NotImplementedError naming its token: a data source answered with
made-up data would hide a lookup the program relies on.

The ids and ARNs are fake but shaped like AWS's, so the program's string handling (ARN suffixes,
queue URLs, digests) runs on realistic values. Where the answer is AWS's own published data (the
managed CloudFront policy ids, CloudFront's origin-facing prefixes) it is the real data.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
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


def short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def sha256_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# --- resources -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewResource:
    """One registration as an answer sees it, with the names AWS would derive for it."""

    type: str
    name: str  # the logical name given to the Pulumi resource
    inputs: Mapping[str, Any]
    region: str
    hash: str  # stable per (stack, type, logical name)
    physical: str  # the name AWS would know it by (see the module docstring)

    @classmethod
    def of(cls, args: pulumi.runtime.MockResourceArgs, *, stack: str, region: str) -> NewResource:
        inputs = dict(args.inputs)
        h = short_hash(stack, args.typ, args.name)
        physical = inputs.get("name") or (
            f"{inputs['namePrefix']}{h}" if inputs.get("namePrefix") else f"{args.name}-{h[:7]}"
        )
        return cls(args.typ, args.name, inputs, region, h, physical)

    @property
    def type_name(self) -> str:
        """`Queue` of `aws:sqs/queue:Queue`."""
        return self.type.rsplit(":", 1)[-1]

    def arn(self, service: str, resource: str) -> str:
        """A regional ARN of this account."""
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    def default_arn(self) -> str:
        service = self.type.split(":")[1].split("/")[0] if ":" in self.type else "component"
        return self.arn(service, f"{self.type_name.lower()}/{self.physical}")

    def default_id(self) -> str:
        return f"{self.name}-{self.hash}"


@dataclass(frozen=True)
class Answer:
    """What AWS reports for a new resource, beyond the inputs echoed back; None: the default."""

    id: str | None = None
    arn: str | None = None
    state: dict[str, Any] = field(default_factory=dict)


ResourceAnswer = Callable[[NewResource], Answer]


def default(r: NewResource) -> Answer:
    return Answer()


def named(answer: ResourceAnswer = default) -> ResourceAnswer:
    """`answer`, plus the physical name as output `name` (AWS names it when given a prefix)."""

    def with_name(r: NewResource) -> Answer:
        given = answer(r)
        return replace(given, state={**given.state, "name": r.physical})

    return with_name


def sqs_queue(r: NewResource) -> Answer:
    url = f"https://sqs.{r.region}.amazonaws.com/{ACCOUNT_ID}/{r.physical}"
    return Answer(id=url, arn=r.arn("sqs", r.physical), state={"url": url})


def sns_topic(r: NewResource) -> Answer:
    arn = r.arn("sns", r.physical)
    return Answer(id=arn, arn=arn)


def sns_subscription(r: NewResource) -> Answer:
    return Answer(arn=f"{r.inputs.get('topic')}:{r.hash}")


def iam_resource(r: NewResource) -> Answer:
    """IAM ARNs are global (no region); roles, profiles and policies are known by their name."""
    kind = {"Role": "role", "InstanceProfile": "instance-profile", "Policy": "policy"}.get(
        r.type_name, "resource"
    )
    if r.type == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        host = str(r.inputs.get("url", "")).removeprefix("https://")
        arn = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}"
    else:
        arn = f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{r.physical}"
    return Answer(
        id=r.physical if kind != "resource" else None,
        arn=arn,
        state={"uniqueId": f"AROA{r.hash.upper()}"},
    )


def ecr_repository(r: NewResource) -> Answer:
    return Answer(
        arn=r.arn("ecr", f"repository/{r.physical}"),
        state={
            "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{r.region}.amazonaws.com/{r.physical}",
            "registryId": ACCOUNT_ID,
        },
    )


def docker_image(r: NewResource) -> Answer:
    """The digest follows the image name, so a new tag means a new task definition revision."""
    image_name = str(r.inputs.get("imageName", ""))
    repository = image_name.rsplit(":", 1)[0]
    return Answer(
        state={"repoDigest": f"{repository}@{sha256_of(image_name)}", "baseImageName": image_name}
    )


def docker_remote_image(r: NewResource) -> Answer:
    pulled = str(r.inputs.get("name", ""))
    return Answer(
        state={"imageId": sha256_of(pulled), "repoDigest": pulled if "@sha256:" in pulled else ""}
    )


def docker_tag(r: NewResource) -> Answer:
    return Answer(state={"sourceImageId": sha256_of(str(r.inputs.get("sourceImage", "")))})


def docker_registry_image(r: NewResource) -> Answer:
    return Answer(state={"sha256Digest": sha256_of(str(r.inputs.get("name", "")))})


def rds_instance(r: NewResource) -> Answer:
    identifier = r.inputs.get("identifier") or r.physical
    address = f"{identifier}.c{r.hash}.{r.region}.rds.amazonaws.com"
    h = r.hash
    return Answer(
        arn=r.arn("rds", f"db:{identifier}"),
        state={
            "address": address,
            "endpoint": f"{address}:{r.inputs.get('port', 5432)}",
            # RDS-managed master password: the program hands this secret's ARN to the tasks.
            "masterUserSecrets": [
                {
                    "secretArn": r.arn("secretsmanager", f"secret:rds!db-{h}-{h[:6]}"),
                    "secretStatus": "active",
                    "kmsKeyId": r.arn("kms", f"key/{h}"),
                }
            ],
        },
    )


def secretsmanager_secret(r: NewResource) -> Answer:
    arn = r.arn("secretsmanager", f"secret:{r.physical}-{r.hash[:6]}")
    return Answer(id=arn, arn=arn)


def load_balancer(r: NewResource) -> Answer:
    suffix = f"app/{r.physical[:24]}/{r.hash}"
    prefix = "internal-" if r.inputs.get("internal") else ""
    return Answer(
        arn=r.arn("elasticloadbalancing", f"loadbalancer/{suffix}"),
        state={
            "arnSuffix": suffix,
            "dnsName": f"{prefix}{r.physical[:24]}-{r.hash}.{r.region}.elb.amazonaws.com",
            "zoneId": "Z35SXDOTRQ7X7K",
        },
    )


def target_group(r: NewResource) -> Answer:
    suffix = f"targetgroup/{r.physical[:24]}/{r.hash}"
    return Answer(arn=r.arn("elasticloadbalancing", suffix), state={"arnSuffix": suffix})


def listener(r: NewResource) -> Answer:
    return Answer(arn=r.arn("elasticloadbalancing", f"listener/app/{r.hash}/{r.name}"))


def in_resource_path(service: str, kind: str) -> ResourceAnswer:
    """The ARN `arn:aws:<service>:<region>:<account>:<kind><physical name>`."""
    return lambda r: Answer(arn=r.arn(service, f"{kind}{r.physical}"))


def ecs_task_definition(r: NewResource) -> Answer:
    family = r.inputs.get("family", r.physical)
    arn = r.arn("ecs", f"task-definition/{family}:1")
    return Answer(arn=arn, state={"revision": 1, "arnWithoutRevision": arn.rsplit(":", 1)[0]})


def lambda_function(r: NewResource) -> Answer:
    arn = r.arn("lambda", f"function:{r.physical}")
    return Answer(
        id=r.physical,
        arn=arn,
        state={
            "qualifiedArn": f"{arn}:$LATEST",
            "invokeArn": f"arn:aws:apigateway:{r.region}:lambda:path/2015-03-31/functions/{arn}"
            "/invocations",
            "version": "$LATEST",
        },
    )


def kms_key(r: NewResource) -> Answer:
    key_id = f"{r.hash}-0000-4000-8000-{r.hash}{r.hash[:4]}"
    return Answer(arn=r.arn("kms", f"key/{key_id}"), state={"keyId": key_id})


def s3_bucket(r: NewResource) -> Answer:
    bucket = r.inputs.get("bucket") or f"{r.inputs.get('bucketPrefix', r.name)}{r.hash}"
    return Answer(
        id=bucket,
        arn=f"arn:aws:s3:::{bucket}",
        state={
            "bucket": bucket,
            "bucketRegionalDomainName": f"{bucket}.s3.{r.region}.amazonaws.com",
        },
    )


def cloudfront_distribution(r: NewResource) -> Answer:
    distribution_id = f"E{r.hash.upper()}OFF"
    return Answer(
        id=distribution_id,
        arn=f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{distribution_id}",
        state={"domainName": f"d{r.hash}.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2"},
    )


def cloudfront_vpc_origin(r: NewResource) -> Answer:
    origin_id = f"vo_{r.hash}"
    return Answer(id=origin_id, arn=f"arn:aws:cloudfront::{ACCOUNT_ID}:vpcorigin/{origin_id}")


def acm_certificate(r: NewResource) -> Answer:
    """CloudFront's certificates live in us-east-1 whatever the stack's region."""
    domain = r.inputs.get("domainName", "example.com")
    h = r.hash
    return Answer(
        arn=f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/{h}",
        state={
            "domainValidationOptions": [
                {
                    "domainName": domain,
                    "resourceRecordName": f"_{h}.{domain}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_{h[::-1]}.acm-validations.aws.",
                }
            ]
        },
    )


def acm_certificate_validation(r: NewResource) -> Answer:
    return Answer(state={"certificateArn": r.inputs.get("certificateArn")})


def route53_record(r: NewResource) -> Answer:
    return Answer(state={"fqdn": str(r.inputs.get("name", "")).rstrip(".")})


def ec2_vpc(r: NewResource) -> Answer:
    return Answer(id=f"vpc-{r.hash}")


# EC2's id prefixes (`subnet-0abc...`), by type name; other EC2 types get `r-`.
EC2_ID_PREFIXES = {
    "Subnet": "subnet", "SecurityGroup": "sg", "RouteTable": "rtb", "NatGateway": "nat",
    "InternetGateway": "igw", "Eip": "eipalloc", "VpcEndpoint": "vpce", "LaunchTemplate": "lt",
    "SecurityGroupIngressRule": "sgr", "SecurityGroupEgressRule": "sgr",
}  # fmt: skip


def ec2_resource(r: NewResource) -> Answer:
    short = EC2_ID_PREFIXES.get(r.type_name, "r")
    resource_id = f"{short}-{r.hash}{r.hash[:9]}"
    launch_template = r.type == "aws:ec2/launchTemplate:LaunchTemplate"
    state = {"latestVersion": 1, "defaultVersion": 1} if launch_template else {}
    return Answer(id=resource_id, arn=r.arn("ec2", f"{short}/{resource_id}"), state=state)


def autoscaling_group(r: NewResource) -> Answer:
    return Answer(
        arn=r.arn("autoscaling", f"autoScalingGroup:{r.hash}:autoScalingGroupName/{r.physical}")
    )


# Resource type -> its answer. `named(...)`: the provider reports the physical name as `name`.
RESOURCES: dict[str, ResourceAnswer] = {
    "aws:sqs/queue:Queue": named(sqs_queue),
    "aws:sns/topic:Topic": named(sns_topic),
    "aws:sns/topicSubscription:TopicSubscription": sns_subscription,
    "aws:iam/role:Role": named(iam_resource),
    "aws:iam/instanceProfile:InstanceProfile": named(iam_resource),
    "aws:ecr/repository:Repository": ecr_repository,
    "docker:index/image:Image": docker_image,
    "docker:index/remoteImage:RemoteImage": docker_remote_image,
    "docker:index/tag:Tag": docker_tag,
    "docker:index/registryImage:RegistryImage": docker_registry_image,
    "aws:rds/instance:Instance": rds_instance,
    "aws:rds/subnetGroup:SubnetGroup": named(),
    "aws:secretsmanager/secret:Secret": named(secretsmanager_secret),
    "aws:lb/loadBalancer:LoadBalancer": load_balancer,
    "aws:lb/targetGroup:TargetGroup": target_group,
    "aws:lb/listener:Listener": listener,
    "aws:lb/listenerRule:ListenerRule": listener,
    "aws:ecs/cluster:Cluster": named(in_resource_path("ecs", "cluster/")),
    "aws:ecs/service:Service": named(in_resource_path("ecs", "service/")),
    "aws:ecs/taskDefinition:TaskDefinition": ecs_task_definition,
    "aws:ecs/capacityProvider:CapacityProvider": named(),
    "aws:lambda/function:Function": named(lambda_function),
    "aws:cloudwatch/logGroup:LogGroup": named(in_resource_path("logs", "log-group:")),
    "aws:cloudwatch/metricAlarm:MetricAlarm": named(in_resource_path("cloudwatch", "alarm:")),
    "aws:kms/key:Key": kms_key,
    "aws:s3/bucket:Bucket": s3_bucket,
    "aws:cloudfront/distribution:Distribution": cloudfront_distribution,
    "aws:cloudfront/vpcOrigin:VpcOrigin": cloudfront_vpc_origin,
    "aws:acm/certificate:Certificate": acm_certificate,
    "aws:acm/certificateValidation:CertificateValidation": acm_certificate_validation,
    "aws:route53/record:Record": route53_record,
    "aws:ec2/vpc:Vpc": ec2_vpc,
    "aws:autoscaling/group:Group": named(autoscaling_group),
}
# Module (`aws:iam` of `aws:iam/policy:Policy`) -> the answer for its types without a row above.
MODULES: dict[str, ResourceAnswer] = {
    "aws:iam": iam_resource,
    "aws:ec2": ec2_resource,
    "aws:vpc": ec2_resource,
}


def answer_for(rtype: str) -> ResourceAnswer:
    """The type's row, else its module's, else the default."""
    return RESOURCES.get(rtype) or MODULES.get(rtype.split("/")[0], default)


# --- invokes -------------------------------------------------------------------------------------

InvokeAnswer = Callable[[Mapping[str, Any], str], dict[str, Any]]  # (arguments, region) -> result


def caller_identity(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline-plan",
        "userId": "AIDAOFFLINEPLAN",
        "id": ACCOUNT_ID,
    }


def region_info(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {
        "name": region,
        "region": region,
        "id": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
        "description": region,
    }


def availability_zones(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    """A real account's us-east-1: six zones, names mapped to ids per account, and the zone ids
    the caller excludes left out (as AWS does with ExcludeZoneIds)."""
    excluded = set(args.get("excludeZoneIds") or [])
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
    }


def ssm_parameter(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    """The program reads AMI ids from AWS's public parameters: a stable fake AMI id per name."""
    name = args["name"]
    return {
        "id": name,
        "name": name,
        "arn": f"arn:aws:ssm:{region}::parameter{name}",
        "type": "String",
        "value": f"ami-0{short_hash(name, length=16)}",
        "insecureValue": f"ami-0{short_hash(name, length=16)}",
        "version": 1,
        "withDecryption": True,
    }


def cloudfront_managed_policy(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = args.get("name", "")
    if name not in MANAGED_POLICY_IDS:
        raise KeyError(f"no managed CloudFront policy named {name!r}")
    return {"id": MANAGED_POLICY_IDS[name], "name": name, "etag": "E1OFFLINE"}


def managed_prefix_list(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {
        "id": CLOUDFRONT_PREFIX_LIST_ID,
        "name": args.get("name"),
        "arn": f"arn:aws:ec2:{region}:aws:prefix-list/{CLOUDFRONT_PREFIX_LIST_ID}",
        "addressFamily": "IPv4",
        "maxEntries": 55,
        "ownerId": "AWS",
        "entries": [{"cidr": cidr, "description": ""} for cidr in CLOUDFRONT_ORIGIN_FACING_CIDRS],
        "version": 1,
    }


def ecr_authorization_token(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {
        "id": region,
        "userName": "AWS",
        "password": "offline-ecr-rtype",
        "authorizationToken": "QVdTOm9mZmxpbmU=",
        "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com",
        "expiresAt": "2099-01-01T00:00:00Z",
    }


# Invoke token -> its answer.
INVOKES: dict[str, InvokeAnswer] = {
    "aws:index/getCallerIdentity:getCallerIdentity": caller_identity,
    "aws:index/getRegion:getRegion": region_info,
    "aws:index/getAvailabilityZones:getAvailabilityZones": availability_zones,
    "aws:ssm/getParameter:getParameter": ssm_parameter,
    "aws:cloudfront/getCachePolicy:getCachePolicy": cloudfront_managed_policy,
    "aws:cloudfront/getOriginRequestPolicy:getOriginRequestPolicy": cloudfront_managed_policy,
    "aws:cloudfront/getResponseHeadersPolicy:getResponseHeadersPolicy": cloudfront_managed_policy,
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": managed_prefix_list,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": ecr_authorization_token,
}


# --- the mocks ---------------------------------------------------------------------------------


class FakeAws(pulumi.runtime.Mocks):
    """Pulumi's mocks answered from the tables above; records the invokes made, in order."""

    def __init__(self, stack: str, region: str) -> None:
        self.stack = stack
        self.region = region
        self.invokes: list[str] = []
        self._lock = threading.Lock()  # the mock engine answers from several threads

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        with self._lock:
            self.invokes.append(args.token)
        answer = INVOKES.get(args.token)
        if answer is None:
            raise NotImplementedError(
                f"the offline mocks do not answer the invoke {args.token}; add a row to INVOKES "
                "in tools/plan/fake_aws.py"
            )
        return answer(args.args, self.region), []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        r = NewResource.of(args, stack=self.stack, region=self.region)
        answer = answer_for(r.type)(r)
        state = {**r.inputs, **answer.state}
        resource_id = answer.id if answer.id is not None else r.default_id()
        state.setdefault("arn", answer.arn if answer.arn is not None else r.default_arn())
        state.setdefault("id", resource_id)
        if r.type.startswith("aws:") and "tags" in r.inputs:
            state["tagsAll"] = r.inputs["tags"]
        return resource_id, state
