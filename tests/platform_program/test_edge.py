"""Edge: CloudFront in front of S3 and the ALB; the ALB answers CloudFront only."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pulumi

from infra.edge import ALL_VIEWER_EXCEPT_HOST, CACHING_DISABLED
from infra.load_balancer import CLOUDFRONT_PREFIX_LIST, ORIGIN_SUBDOMAIN, ORIGIN_VERIFY_HEADER
from infra.web_assets import (
    IMMUTABLE_CACHE,
    NO_CACHE,
    WebAssets,
    WebAssetsArgs,
    cache_control,
    content_type,
)
from tools.plan.offline import (
    CLOUDFRONT_PREFIX_LIST_ID,
    MANAGED_POLICY_IDS,
    EvaluatedStack,
    run_under_mocks,
)


def alb_ingress(stack: EvaluatedStack) -> list[dict[str, object]]:
    group = stack.named("aws:ec2/securityGroup:SecurityGroup", "load-balancer-sg")
    rules = [
        r.inputs
        for r in stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == group.state["id"]
    ]
    assert "ingress" not in group.inputs, "inline rules would bypass this check"
    return rules


def test_alb_admits_only_cloudfront(stack: EvaluatedStack) -> None:
    (rule,) = alb_ingress(stack)
    assert rule["prefixListId"] == CLOUDFRONT_PREFIX_LIST_ID
    assert (rule["fromPort"], rule["toPort"]) == (80, 80)
    assert "cidrIpv4" not in rule
    assert "cidrIpv6" not in rule
    (balancer,) = stack.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert balancer.inputs["internal"] is True  # vpc_origin: no public address at all
    (vpc_origin,) = stack.of_type("aws:cloudfront/vpcOrigin:VpcOrigin")
    assert vpc_origin.inputs["vpcOriginEndpointConfig"]["arn"] == balancer.state["arn"]


def test_no_security_group_is_open_to_the_internet(stack: EvaluatedStack) -> None:
    for rule in stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        assert rule.inputs.get("cidrIpv4") not in ("0.0.0.0/0",), rule.urn
        assert rule.inputs.get("cidrIpv6") not in ("::/0",), rule.urn


def test_public_alb_takes_cloudfronts_secret_header_over_https_only(
    variant: Callable[..., EvaluatedStack],
) -> None:
    """AWS's guidance for restricting a public ALB to CloudFront: a secret header CloudFront
    adds, sent over HTTPS to the origin (over HTTP anyone on the path could read and replay it).
    HTTPS to the origin needs a name with a certificate: the origin gets its own name under the
    stack's domain, with a regional ACM certificate on the ALB's HTTPS listener."""
    secret = "origin-verify-secret-0123456789abcdefghij"
    public = variant(
        "staging",
        alb_origin="public",
        origin_verify_secret=secret,
        domain_name="shop.example.com",
        hosted_zone_id="Z0123456789ABC",
    )
    (balancer,) = public.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert balancer.inputs["internal"] is False
    (rule,) = alb_ingress(public)
    assert rule["prefixListId"] == CLOUDFRONT_PREFIX_LIST_ID
    assert (rule["fromPort"], rule["toPort"]) == (443, 443), "CloudFront reaches it over HTTPS"
    (listener,) = public.of_type("aws:lb/listener:Listener")
    assert (listener.inputs["protocol"], listener.inputs["port"]) == ("HTTPS", 443)
    assert listener.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert listener.inputs["defaultActions"][0]["fixedResponse"]["statusCode"] == "403"
    certificates = {
        c.inputs["domainName"]: c for c in public.of_type("aws:acm/certificate:Certificate")
    }
    origin_name = f"{ORIGIN_SUBDOMAIN}.shop.example.com"
    origin_certificate = certificates[origin_name]
    assert origin_certificate.provider is None, "the ALB's certificate is in the stack's region"
    validations = public.of_type("aws:acm/certificateValidation:CertificateValidation")
    assert listener.inputs["certificateArn"] == origin_certificate.state["arn"]
    assert listener.inputs["certificateArn"] in {v.state["certificateArn"] for v in validations}
    forward = public.named("aws:lb/listenerRule:ListenerRule", "load-balancer-api-forward")
    assert forward.inputs["listenerArn"] == listener.state["arn"]
    headers = [c["httpHeader"] for c in forward.inputs["conditions"] if "httpHeader" in c]
    assert headers == [{"httpHeaderName": ORIGIN_VERIFY_HEADER, "values": [secret]}]
    (distribution,) = public.of_type("aws:cloudfront/distribution:Distribution")
    api = next(o for o in distribution.inputs["origins"] if o["originId"] == "api")
    assert api["domainName"] == origin_name
    assert api["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert api["customHeaders"] == [{"name": ORIGIN_VERIFY_HEADER, "value": secret}]
    origin_records = [
        r for r in public.of_type("aws:route53/record:Record") if r.inputs["name"] == origin_name
    ]
    assert [r.inputs["aliases"][0]["name"] for r in origin_records] == [balancer.state["dnsName"]]
    assert public.of_type("aws:cloudfront/vpcOrigin:VpcOrigin") == []


def test_cloudfront_routes_api_uncached_and_the_site_from_a_private_bucket(
    stack: EvaluatedStack,
) -> None:
    (distribution,) = stack.of_type("aws:cloudfront/distribution:Distribution")
    inputs = distribution.inputs
    behaviours = inputs["orderedCacheBehaviors"]
    assert [b["pathPattern"] for b in behaviours] == ["/api/*", "/healthz", "/readyz"]
    for api in behaviours:
        assert api["targetOriginId"] == "api"
        assert api["cachePolicyId"] == MANAGED_POLICY_IDS[CACHING_DISABLED]
        assert api["originRequestPolicyId"] == MANAGED_POLICY_IDS[ALL_VIEWER_EXCEPT_HOST]
        assert set(api["allowedMethods"]) >= {"POST", "PUT", "PATCH", "DELETE"}
    for behaviour in (*behaviours, inputs["defaultCacheBehavior"]):
        assert behaviour["viewerProtocolPolicy"] == "redirect-to-https"
    web = next(o for o in inputs["origins"] if o["originId"] == "web")
    (access_control,) = stack.of_type("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert web["originAccessControlId"] == access_control.state["id"]
    assert access_control.inputs["signingBehavior"] == "always"
    (block,) = stack.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[k] is True
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    (policy,) = stack.of_type("aws:s3/bucketPolicy:BucketPolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == ["s3:GetObject"]
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution.state["arn"]}}
    assert inputs["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert stack.outputs["url"] == f"https://{distribution.state['domainName']}"
    assert any(i.endswith("getManagedPrefixList") for i in stack.invokes)
    assert CLOUDFRONT_PREFIX_LIST.endswith("cloudfront.origin-facing")


def test_custom_domain_gets_a_us_east_1_certificate(variant: Callable[..., EvaluatedStack]) -> None:
    named = variant(
        "prod", domain_name="shop.example.com", hosted_zone_id="Z0123456789ABC", image_ref=None
    )
    (provider,) = named.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == "us-east-1"
    (certificate,) = named.of_type("aws:acm/certificate:Certificate")
    assert certificate.inputs["domainName"] == "shop.example.com"
    assert certificate.inputs["validationMethod"] == "DNS"
    (distribution,) = named.of_type("aws:cloudfront/distribution:Distribution")
    assert distribution.inputs["aliases"] == ["shop.example.com"]
    viewer = distribution.inputs["viewerCertificate"]
    assert viewer["acmCertificateArn"] == certificate.state["arn"]
    assert viewer["sslSupportMethod"] == "sni-only"
    assert viewer["minimumProtocolVersion"].startswith("TLSv1.2")
    aliases = [r for r in named.of_type("aws:route53/record:Record") if r.inputs.get("aliases")]
    assert {r.inputs["type"] for r in aliases} == {"A", "AAAA"}
    assert named.outputs["url"] == "https://shop.example.com"


def test_content_types_and_cache_rules() -> None:
    assert content_type(Path("index.html")) == "text/html; charset=utf-8"
    assert content_type(Path("app.js")) == "text/javascript"
    assert content_type(Path("logo.svg")) == "image/svg+xml; charset=utf-8"
    assert content_type(Path("logo.png")) == "image/png"
    assert content_type(Path("data.bin")) == "application/octet-stream"
    assert cache_control("index.html") == NO_CACHE
    assert cache_control("assets/app.3f9a2b1c.js") == IMMUTABLE_CACHE
    assert cache_control("assets/index-BdX8k2Q9.css") == IMMUTABLE_CACHE
    assert cache_control("styles.css") == NO_CACHE  # unhashed modules: never mix versions
    assert cache_control("favicon.ico") == NO_CACHE


def test_web_folder_is_uploaded_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "styles.css").write_text("body{}")
    (tmp_path / "assets" / "app.3f9a2b1c.js").write_text("export {}")
    (tmp_path / ".DS_Store").write_text("")

    run = run_under_mocks(
        lambda: WebAssets(
            "web", WebAssetsArgs(bucket_name=pulumi.Output.from_input("site"), root=tmp_path)
        ),
        stack="assets",
    )
    assert run.error is None
    objects = {
        r.inputs["key"]: r.inputs
        for r in run.resources
        if r.type == "aws:s3/bucketObjectv2:BucketObjectv2"
    }
    assert set(objects) == {"index.html", "styles.css", "assets/app.3f9a2b1c.js"}
    assert objects["index.html"]["cacheControl"] == "no-cache"
    assert objects["index.html"]["contentType"] == "text/html; charset=utf-8"
    assert objects["styles.css"]["cacheControl"] == "no-cache"
    assert objects["assets/app.3f9a2b1c.js"]["cacheControl"].endswith("immutable")
    assert all(o["bucket"] == "site" for o in objects.values())
