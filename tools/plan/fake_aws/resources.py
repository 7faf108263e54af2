"""What AWS reports for a new resource, per type: `RESOURCES` (type -> answer) and `MODULES`.

Teaching the fake a new type is one row in RESOURCES (and, when the default does not fit, a small
function computing its `Answer`). What a type without a row gets (the default, enough for most):
- its outputs are its inputs, plus `arn` and `id` unless an input already has that name;
- `arn` = `arn:aws:<module>:<region>:<account>:<type name, lower case>/<physical name>`;
- `id` = `<logical name>-<hash>`; the hash is stable per (stack, type, logical name), so a plan
  is the same from one run to the next;
- the physical name is the `name` input, else `namePrefix` + hash, else `<logical name>-<hash7>`;
- for every `aws:` type with `tags`, `tagsAll` = `tags` (no provider default tags here).
A type of a module in MODULES (`aws:iam`, `aws:ec2`, ...) without a row of its own gets that
module's answer instead of the default. The ids and ARNs are fake but shaped like AWS's, so the
program's string handling (ARN suffixes, queue URLs, digests) runs on realistic values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi

from tools.plan.fake_aws.account import ACCOUNT_ID, sha256_of, short_hash


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


def respond(r: NewResource) -> tuple[str, dict[str, Any]]:
    """The id and outputs of `r`: its answer applied over the default (module docstring)."""
    answer = answer_for(r.type)(r)
    state = {**r.inputs, **answer.state}
    resource_id = answer.id if answer.id is not None else r.default_id()
    state.setdefault("arn", answer.arn if answer.arn is not None else r.default_arn())
    state.setdefault("id", resource_id)
    if r.type.startswith("aws:") and "tags" in r.inputs:
        state["tagsAll"] = r.inputs["tags"]
    return resource_id, state
