"""Edge: one CloudFront distribution in front of everything.

    viewer --HTTPS--> CloudFront --+-- default ---------> S3 bucket (static site, origin access
                                   |                       control)
                                   +-- each web path ---> ALB (VPC origin, or public + secret
                                                           header) -> that web service's rule

One ordered cache behaviour per path the web services declare (services.yaml `paths`, e.g. the
demo's /api/*, /healthz, /readyz), all to the ALB origin, in declaration order; the ALB's rules
pick the service. service_declaration.py keeps them within CloudFront's quota and syntax, and
refuses a path that would take the site's default behaviour.

The bucket is private (public access blocked, owner-enforced, encrypted); only this distribution
may read it (bucket policy on its ARN). The web paths use AWS's managed policies: no caching,
and every viewer header except Host forwarded (the ALB has no certificate for the viewer's name).
A custom domain gets an ACM certificate in us-east-1, the only region CloudFront takes them from.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.certificates import dns_validated_certificate
from infra.config import PROJECT, StackConfig
from infra.iam_documents import allow, document
from infra.load_balancer import ORIGIN_VERIFY_HEADER, LoadBalancer
from infra.private_bucket import keep_private
from infra.service_declaration import SITE_INDEX

# AWS-managed policy names (looked up by name: self-describing, and ids are account-independent).
CACHING_OPTIMIZED = "Managed-CachingOptimized"
CACHING_DISABLED = "Managed-CachingDisabled"
ALL_VIEWER_EXCEPT_HOST = "Managed-AllViewerExceptHostHeader"
SECURITY_HEADERS = "Managed-SecurityHeadersPolicy"
WEB_ORIGIN = "web"
# The load balancer's origin id (the id distributions have had since there was one web service:
# renaming it would rewrite every behaviour for nothing).
ALB_ORIGIN = "api"
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]


@dataclass(frozen=True)
class EdgeArgs:
    config: StackConfig
    load_balancer: LoadBalancer
    # Every web service's declared paths, in declaration order: CloudFront sends them to the ALB.
    web_paths: tuple[str, ...]


class Edge(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    distribution_id: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:edge:Edge", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)

        bucket = aws.s3.Bucket(
            f"{name}-web",
            bucket_prefix=f"{config.prefix}-web-",
            force_destroy=True,  # only build output lives here; the program re-uploads it
            opts=child,
        )
        keep_private(
            bucket, public_access_block_name=f"{name}-web", ownership_name=f"{name}-web", opts=child
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-web",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        access_control = aws.cloudfront.OriginAccessControl(
            f"{name}-web",
            name=f"{config.prefix}-web",
            description="CloudFront signs every request to the web bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )

        lb = args.load_balancer
        balancer_origin: aws.cloudfront.DistributionOriginArgsDict = {
            "origin_id": ALB_ORIGIN,
            "domain_name": lb.origin_domain_name,
        }
        if config.alb_origin == "vpc_origin":
            vpc_origin = aws.cloudfront.VpcOrigin(
                f"{name}-alb",
                vpc_origin_endpoint_config={
                    "name": f"{config.prefix}-alb",
                    "arn": lb.arn,
                    "http_port": 80,
                    "https_port": 443,
                    # Inside AWS's network to a private ALB: no certificate needed on the ALB.
                    "origin_protocol_policy": lb.origin_protocol_policy,
                    "origin_ssl_protocols": {"items": ["TLSv1.2"], "quantity": 1},
                },
                opts=child,
            )
            balancer_origin["vpc_origin_config"] = {
                "vpc_origin_id": vpc_origin.id,
                "origin_keepalive_timeout": 5,
                "origin_read_timeout": 30,
            }
        else:
            # Over the internet: HTTPS only, so the secret header is never sent in clear.
            balancer_origin["custom_origin_config"] = {
                "http_port": 80,
                "https_port": 443,
                "origin_protocol_policy": lb.origin_protocol_policy,
                "origin_ssl_protocols": ["TLSv1.2"],
                "origin_keepalive_timeout": 5,
                "origin_read_timeout": 30,
            }
            balancer_origin["custom_headers"] = [
                {
                    "name": ORIGIN_VERIFY_HEADER,
                    "value": pulumi.Output.secret(config.origin_secret),
                }
            ]

        viewer_certificate: aws.cloudfront.DistributionViewerCertificateArgsDict = {
            "cloudfront_default_certificate": True
        }
        if config.domain_name and config.hosted_zone_id:
            viewer_certificate = {
                "acm_certificate_arn": self._certificate(
                    name, domain_name=config.domain_name, hosted_zone_id=config.hosted_zone_id
                ),
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": "TLSv1.2_2021",
            }

        cache_optimized = aws.cloudfront.get_cache_policy_output(
            name=CACHING_OPTIMIZED, opts=invoke
        )
        cache_disabled = aws.cloudfront.get_cache_policy_output(name=CACHING_DISABLED, opts=invoke)
        all_viewer = aws.cloudfront.get_origin_request_policy_output(
            name=ALL_VIEWER_EXCEPT_HOST, opts=invoke
        )
        security_headers = aws.cloudfront.get_response_headers_policy_output(
            name=SECURITY_HEADERS, opts=invoke
        )

        distribution = aws.cloudfront.Distribution(
            f"{name}-cdn",
            enabled=True,
            comment=f"{config.prefix}: static site and the web services",
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=config.price_class,
            default_root_object=SITE_INDEX.removeprefix("/"),
            aliases=[config.domain_name] if config.domain_name else None,
            origins=[
                {
                    "origin_id": WEB_ORIGIN,
                    "domain_name": bucket.bucket_regional_domain_name,
                    "origin_access_control_id": access_control.id,
                },
                balancer_origin,
            ],
            default_cache_behavior={
                "target_origin_id": WEB_ORIGIN,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD", "OPTIONS"],
                "cached_methods": ["GET", "HEAD"],
                "compress": True,
                "cache_policy_id": cache_optimized.id,
                "response_headers_policy_id": security_headers.id,
            },
            # The demo's api lists its probes too, so a smoke test checks the path a viewer takes
            # (CloudFront -> ALB -> task), not just the task.
            ordered_cache_behaviors=[
                {
                    "path_pattern": pattern,
                    "target_origin_id": ALB_ORIGIN,
                    "viewer_protocol_policy": "redirect-to-https",
                    "allowed_methods": ALL_METHODS,
                    "cached_methods": ["GET", "HEAD"],
                    "compress": True,
                    "cache_policy_id": cache_disabled.id,
                    "origin_request_policy_id": all_viewer.id,
                    "response_headers_policy_id": security_headers.id,
                }
                for pattern in args.web_paths
            ],
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate=viewer_certificate,
            opts=child,
        )

        aws.s3.BucketPolicy(
            f"{name}-web",
            bucket=bucket.id,
            policy=document(
                {
                    **allow(
                        "OnlyThisDistributionReads",
                        ["s3:GetObject"],
                        pulumi.Output.concat(bucket.arn, "/*"),
                        {"StringEquals": {"AWS:SourceArn": distribution.arn}},
                    ),
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                }
            ),
            opts=child,
        )

        if config.domain_name and config.hosted_zone_id:
            for record_type in ("A", "AAAA"):
                aws.route53.Record(
                    f"{name}-alias-{record_type.lower()}",
                    zone_id=config.hosted_zone_id,
                    name=config.domain_name,
                    type=record_type,
                    aliases=[
                        {
                            "name": distribution.domain_name,
                            "zone_id": distribution.hosted_zone_id,
                            "evaluate_target_health": False,
                        }
                    ],
                    opts=child,
                )
            self.url = pulumi.Output.from_input(f"https://{config.domain_name}")
        else:
            self.url = pulumi.Output.concat("https://", distribution.domain_name)

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.distribution_id = distribution.id
        self.distribution_arn = distribution.arn
        self.register_outputs({"url": self.url, "distribution_id": self.distribution_id})

    def _certificate(
        self, name: str, *, domain_name: str, hosted_zone_id: str
    ) -> pulumi.Output[str]:
        us_east_1 = aws.Provider(
            f"{name}-us-east-1",
            region="us-east-1",
            # `aws:defaultTags` configures the default provider only; a provider made here would
            # leave the certificate without the stack's tags.
            default_tags=pulumi.Config("aws").get_object("defaultTags"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # CloudFront only takes certificates from us-east-1; the record lives in the stack's zone.
        return dns_validated_certificate(
            certificate_name=f"{name}-certificate",
            record_name=f"{name}-certificate-validation",
            domain_name=domain_name,
            hosted_zone_id=hosted_zone_id,
            certificate_opts=pulumi.ResourceOptions(parent=self, provider=us_east_1),
            record_opts=pulumi.ResourceOptions(parent=self),
        )
