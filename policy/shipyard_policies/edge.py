"""Edge: nothing admits the whole internet (CloudFront is the door); buckets are never public."""

from __future__ import annotations

from pulumi_policy import (
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from shipyard_policies.props import ReportViolation, as_list

OPEN = {"0.0.0.0/0", "::/0"}
PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"


def _ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, kind = args.props, args.resource_type
    cidrs: list[str | None] = []  # a rule may leave either family out
    if kind == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        cidrs = [props.get("cidrIpv4"), props.get("cidrIpv6")]
    elif kind == "aws:ec2/securityGroupRule:SecurityGroupRule" and props.get("type") == "ingress":
        cidrs = as_list(props.get("cidrBlocks")) + as_list(props.get("ipv6CidrBlocks"))
    elif kind == "aws:ec2/securityGroup:SecurityGroup":
        for rule in as_list(props.get("ingress")):
            cidrs += as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))
    for cidr in cidrs:
        if cidr in OPEN:
            report(
                f"ingress from {cidr}: only CloudFront faces the internet; admit its managed "
                "prefix list or a security group instead"
            )


def _public_access_block(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != PUBLIC_ACCESS_BLOCK:
        return
    off = [flag for flag in PUBLIC_ACCESS_FLAGS if args.props.get(flag) is not True]
    if off:
        report(f"public access block leaves {', '.join(off)} off: set all four to True")


def _every_bucket_blocked(args: StackValidationArgs, report: ReportViolation) -> None:
    blocked = {
        dependency.urn
        for resource in args.resources
        if resource.resource_type == PUBLIC_ACCESS_BLOCK
        for dependency in resource.dependencies
    }
    for resource in args.resources:
        if resource.resource_type == BUCKET and resource.urn not in blocked:
            report(f"bucket {resource.name} has no public access block", resource.urn)


NO_INGRESS_FROM_INTERNET = ResourceValidationPolicy(
    name="no-ingress-from-internet",
    description="No security group admits 0.0.0.0/0 or ::/0.",
    validate=_ingress,
)
S3_PUBLIC_ACCESS_BLOCK_COMPLETE = ResourceValidationPolicy(
    name="s3-public-access-block-complete",
    description="Public access blocks turn on all four protections.",
    validate=_public_access_block,
)
S3_BUCKETS_BLOCK_PUBLIC_ACCESS = StackValidationPolicy(
    name="s3-buckets-block-public-access",
    description="Every bucket has a public access block.",
    validate=_every_bucket_blocked,
)
