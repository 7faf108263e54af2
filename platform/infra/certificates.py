"""A DNS-validated ACM certificate: the certificate, its validation record in the stack's Route 53
zone, and the validation the listener or distribution waits for.

Used for CloudFront's certificate (which must live in us-east-1) and for the public ALB's own
origin name (in the stack's region); the caller names the three resources, so their URNs stay put.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def dns_validated_certificate(
    *,
    certificate_name: str,
    record_name: str,
    domain_name: pulumi.Input[str],
    hosted_zone_id: pulumi.Input[str],
    certificate_opts: pulumi.ResourceOptions,
    record_opts: pulumi.ResourceOptions,
) -> pulumi.Output[str]:
    """The certificate's ARN, resolved only once ACM has validated it."""
    certificate = aws.acm.Certificate(
        certificate_name, domain_name=domain_name, validation_method="DNS", opts=certificate_opts
    )
    option = certificate.domain_validation_options[0]
    record = aws.route53.Record(
        record_name,
        zone_id=hosted_zone_id,
        name=option.resource_record_name,
        type=option.resource_record_type,
        records=[option.resource_record_value],
        ttl=300,
        allow_overwrite=True,
        opts=record_opts,
    )
    return aws.acm.CertificateValidation(
        certificate_name,
        certificate_arn=certificate.arn,
        validation_record_fqdns=[record.fqdn],
        opts=certificate_opts,
    ).certificate_arn
