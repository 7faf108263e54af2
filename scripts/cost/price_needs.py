"""Every price the estimator uses, and how `refresh-prices` finds it in AWS's offer files.

A price is identified by a key (`nat_gateway_hour`, `rds_postgresql:Multi-AZ:db.m7g.large`).
A *need* names the offer (service code), the product family, the attributes a product must have
and the usage type's ending (offer files prefix most usage types with a region code, `USE1-`,
`EU-`, `us-east-1-`, but not all of them, and not in every region). Needs for one price must
match exactly one product; needs for a family of prices (`key_attributes`) make one price per
product, keyed by those attributes (every PostgreSQL instance class, every EC2 instance type), so a
pull request that picks another class is still priced.

The expected unit is part of the need: a price whose unit changed in the offer file is refused
by the refresh, not silently multiplied by the wrong quantity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A usage type's region prefix: `USE1`, `EU`, `APN1`, `US` (CloudFront's edge groups), or a
# region code (`us-east-1`, as AWS KMS writes it).
_REGION_PREFIX = re.compile(r"^(?:[A-Z]{2,4}\d?|[a-z]{2}(?:-[a-z]+)+-\d)$")


@dataclass(frozen=True)
class PriceNeed:
    key: str
    offer_code: str
    product_family: str | None  # None: the products carry no family (AmazonVPC's public IPv4)
    usage_type: str  # without the region prefix
    unit: str  # as the offer file writes it
    attributes: dict[str, str] = field(default_factory=dict)
    # A family of prices: one per matching product, keyed `<key>:<attr value>:<attr value>`.
    key_attributes: tuple[str, ...] = ()
    regional: bool = True  # False: the offer has one global file (CloudFront), no regionCode

    def usage_type_matches(self, usage_type: str) -> bool:
        if self.usage_type.endswith("*"):  # a family's usage types, e.g. `InstanceUsage:*`
            stem = self.usage_type[:-1]
            head, found, _rest = usage_type.partition(stem)
            return bool(found) and (head == "" or _is_region_prefix(head))
        if usage_type == self.usage_type:
            return True
        head = usage_type[: -len(self.usage_type)]
        return usage_type.endswith(self.usage_type) and _is_region_prefix(head)


def _is_region_prefix(head: str) -> bool:
    return head.endswith("-") and bool(_REGION_PREFIX.match(head[:-1]))


_LINUX_ON_DEMAND = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "licenseModel": "No License required",
    "capacitystatus": "Used",
}

PRICE_NEEDS: tuple[PriceNeed, ...] = (
    # Amazon EC2: NAT gateways, container instances, their EBS volumes
    PriceNeed("nat_gateway_hour", "AmazonEC2", "NAT Gateway", "NatGateway-Hours", "Hrs",
              {"group": "NGW:NatGateway"}),
    PriceNeed("nat_gateway_gb", "AmazonEC2", "NAT Gateway", "NatGateway-Bytes", "GB",
              {"group": "NGW:NatGateway"}),
    PriceNeed("ec2_linux_hour", "AmazonEC2", "Compute Instance", "BoxUsage:*", "Hrs",
              _LINUX_ON_DEMAND, key_attributes=("instanceType",)),
    PriceNeed("ebs_gp3_gb_month", "AmazonEC2", "Storage", "EBS:VolumeUsage.gp3", "GB-Mo",
              {"volumeApiName": "gp3"}),
    # AWS Fargate (billed under Amazon ECS)
    PriceNeed("fargate_vcpu_hour:X86_64", "AmazonECS", "Compute",
              "Fargate-vCPU-Hours:perCPU", "hours"),
    PriceNeed("fargate_gb_hour:X86_64", "AmazonECS", "Compute", "Fargate-GB-Hours", "hours"),
    PriceNeed("fargate_vcpu_hour:ARM64", "AmazonECS", "Compute",
              "Fargate-ARM-vCPU-Hours:perCPU", "hours"),
    PriceNeed("fargate_gb_hour:ARM64", "AmazonECS", "Compute", "Fargate-ARM-GB-Hours", "hours"),
    # Elastic Load Balancing
    PriceNeed("alb_hour", "AWSELB", "Load Balancer-Application", "LoadBalancerUsage", "Hrs"),
    PriceNeed("alb_lcu_hour", "AWSELB", "Load Balancer-Application", "LCUUsage", "LCU-Hrs"),
    # Amazon RDS for PostgreSQL: instance hours (Multi-AZ has its own, doubled, SKUs) and gp3
    PriceNeed("rds_postgresql:Single-AZ", "AmazonRDS", "Database Instance", "InstanceUsage:*",
              "Hrs", {"databaseEngine": "PostgreSQL", "deploymentOption": "Single-AZ"},
              key_attributes=("instanceType",)),
    PriceNeed("rds_postgresql:Multi-AZ", "AmazonRDS", "Database Instance", "Multi-AZUsage:*",
              "Hrs", {"databaseEngine": "PostgreSQL", "deploymentOption": "Multi-AZ"},
              key_attributes=("instanceType",)),
    PriceNeed("rds_gp3_gb_month:Single-AZ", "AmazonRDS", "Database Storage", "RDS:GP3-Storage",
              "GB-Mo", {"volumeType": "General Purpose-GP3", "deploymentOption": "Single-AZ",
                        "databaseEngine": "PostgreSQL"}),
    PriceNeed("rds_gp3_gb_month:Multi-AZ", "AmazonRDS", "Database Storage",
              "RDS:Multi-AZ-GP3-Storage", "GB-Mo",
              {"volumeType": "General Purpose-GP3", "deploymentOption": "Multi-AZ",
               "databaseEngine": "PostgreSQL"}),
    # Amazon CloudWatch
    PriceNeed("cloudwatch_alarm_month", "AmazonCloudWatch", "Alarm", "CW:AlarmMonitorUsage",
              "Alarms"),
    PriceNeed("cloudwatch_logs_gb_month", "AmazonCloudWatch", "Storage Snapshot",
              "TimedStorage-ByteHrs", "GB-Mo"),
    PriceNeed("cloudwatch_logs_ingested_gb", "AmazonCloudWatch", "Data Payload",
              "DataProcessing-Bytes", "GB"),
    # AWS KMS, AWS Secrets Manager
    PriceNeed("kms_key_month", "awskms", "Encryption Key", "KMS-Keys", "Keys"),
    PriceNeed("secret_month", "AWSSecretsManager", "Secret", "AWSSecretsManager-Secrets",
              "Secrets"),
    # Amazon VPC: public IPv4 addresses (every Elastic IP, also a NAT gateway's), endpoints
    PriceNeed("public_ipv4_hour", "AmazonVPC", None, "PublicIPv4:InUseAddress", "Hrs"),
    PriceNeed("vpc_endpoint_hour", "AmazonVPC", "VpcEndpoint", "VpcEndpoint-Hours", "Hrs"),
    # Amazon S3 (Standard storage), Amazon SQS, Amazon SNS, AWS Lambda
    PriceNeed("s3_standard_gb_month", "AmazonS3", "Storage", "TimedStorage-ByteHrs", "GB-Mo",
              {"volumeType": "Standard"}),
    PriceNeed("sqs_standard_request", "AWSQueueService", "API Request", "Requests-RBP",
              "Requests", {"queueType": "Standard"}),
    PriceNeed("sqs_fifo_request", "AWSQueueService", "API Request", "Requests-FIFO-RBP",
              "Requests", {"queueType": "FIFO (first-in, first-out)"}),
    PriceNeed("sns_publish_request", "AmazonSNS", "API Request", "Requests-Tier1", "Requests"),
    PriceNeed("lambda_request:x86_64", "AWSLambda", "Serverless", "Request", "Requests",
              {"group": "AWS-Lambda-Requests"}),
    PriceNeed("lambda_gb_second:x86_64", "AWSLambda", "Serverless", "Lambda-GB-Second",
              "Lambda-GB-Second", {"group": "AWS-Lambda-Duration"}),
    PriceNeed("lambda_request:arm64", "AWSLambda", "Serverless", "Request-ARM", "Requests",
              {"group": "AWS-Lambda-Requests-ARM"}),
    PriceNeed("lambda_gb_second:arm64", "AWSLambda", "Serverless", "Lambda-GB-Second-ARM",
              "Lambda-GB-Second", {"group": "AWS-Lambda-Duration-ARM"}),
    # Amazon CloudFront (one global offer; priced at its United States edge rates)
    PriceNeed("cloudfront_out_gb:United States", "AmazonCloudFront", "Data Transfer",
              "DataTransfer-Out-Bytes", "GB",
              {"fromLocation": "United States", "transferType": "CloudFront Outbound"},
              regional=False),
    PriceNeed("cloudfront_https_request:United States", "AmazonCloudFront", "Request",
              "Requests-Tier2-HTTPS", "Requests", {"location": "United States"},
              regional=False),
)  # fmt: skip


def offers_needed() -> list[str]:
    """The offer codes to download, in a stable order."""
    return sorted({need.offer_code for need in PRICE_NEEDS})


def needs_of(offer_code: str) -> list[PriceNeed]:
    return [need for need in PRICE_NEEDS if need.offer_code == offer_code]
