"""Round-two AWS faults (issue 22, item 7), each checked on the program under mocks against the
rule AWS (or the provider) documents, with a control that shows the check can fail."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from scripts.trust.policy_evaluation import Request, evaluate
from tools.plan.offline import ACCOUNT_ID, EvaluatedBootstrap, EvaluatedStack, evaluate_bootstrap

from .queries import as_list, statements


def blue_green(variant: Callable[..., EvaluatedStack]) -> EvaluatedStack:
    """Blue/green whatever the shipped stack files say, so this check never loses its subject."""
    return variant("staging", deployment_strategy="blue_green")


# --- the blue/green service waits for its load-balancer role's policy -------------------------


def test_blue_green_service_depends_on_its_load_balancer_policy_attachment(
    variant: Callable[..., EvaluatedStack],
) -> None:
    """IAM is eventually consistent: a role usable only once its policy is attached must not be
    handed to ECS before the attachment exists, or the first blue/green deployment fails with
    ECS unable to modify the listener rule. Pulumi orders creation only along dependencies, and
    the service references the role (role_arn), not its attachment."""
    stack = blue_green(variant)
    service = stack.named("aws:ecs/service:Service", "services-api")
    attachment = stack.named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "services-ecs-lb")
    role = stack.named("aws:iam/role:Role", "services-ecs-lb")
    assert attachment.inputs["role"] == role.state["name"]
    lb = service.inputs["loadBalancers"][0]["advancedConfiguration"]
    assert lb["roleArn"] == role.state["arn"]
    assert attachment.urn in service.dependencies, (
        f"{service.urn} may be created before {attachment.urn}"
    )


def test_control_rolling_service_has_no_load_balancer_role(
    variant: Callable[..., EvaluatedStack],
) -> None:
    """Rolling services hand ECS no role: nothing to wait for (and nothing left to attach)."""
    rolling = variant("staging", deployment_strategy="rolling")
    service = rolling.named("aws:ecs/service:Service", "services-api")
    assert "advancedConfiguration" not in service.inputs["loadBalancers"][0]
    attachments = rolling.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert all(r.name != "services-ecs-lb" for r in attachments)


# --- the us-east-1 provider carries the stack's default tags ---------------------------------


def with_domain(variant: Callable[..., EvaluatedStack], stack: str) -> EvaluatedStack:
    return variant(stack, domain_name="shop.example.com", hosted_zone_id="Z0123456789ABC")


@pytest.mark.parametrize("stack_name", ["staging", "prod"])
def test_us_east_1_provider_carries_the_stacks_default_tags(
    variant: Callable[..., EvaluatedStack], stack_name: str
) -> None:
    """An explicit provider does not inherit `aws:defaultTags` (that config feeds only the
    default provider), so the CloudFront certificate would go untagged: no cost allocation,
    no `environment` for tag-based access rules."""
    stack = with_domain(variant, stack_name)
    (provider,) = [r for r in stack.resources if r.type == "pulumi:providers:aws"]
    assert provider.inputs["region"] == "us-east-1"
    default_tags = provider.inputs.get("defaultTags")
    assert default_tags is not None, f"{provider.urn} has no defaultTags"
    expected = stack_default_tags(stack_name)
    assert json_object(default_tags)["tags"] == expected
    certificate = stack.named("aws:acm/certificate:Certificate", "edge-certificate")
    assert certificate.provider is not None
    assert certificate.provider.startswith(provider.urn)


def stack_default_tags(stack: str) -> dict[str, str]:
    from tools.plan.offline import raw_stack_config

    tags = json.loads(raw_stack_config(stack)["aws:defaultTags"])["tags"]
    assert tags["environment"], "the stack file's own default tags"
    return dict(tags)


def json_object(value: Any) -> dict[str, Any]:
    # Provider inputs reach the engine as JSON strings (providers take their config as strings).
    return json.loads(value) if isinstance(value, str) else dict(value)


# --- the state bucket forgets noncurrent versions ----------------------------------------------


@pytest.fixture(scope="module")
def bootstrap() -> EvaluatedBootstrap:
    return evaluate_bootstrap("shipyard")


def test_state_bucket_expires_noncurrent_versions(bootstrap: EvaluatedBootstrap) -> None:
    """Pulumi rewrites the stack's state file on every step of every update, and the bucket is
    versioned: without expiry every version of every checkpoint stays (and is billed) forever.
    Expiring noncurrent versions after a while but keeping the newest few keeps what an undo
    needs (S3 User Guide, "Lifecycle configuration elements": NoncurrentVersionExpiration with
    NoncurrentDays and NewerNoncurrentVersions)."""
    bucket = bootstrap.named("aws:s3/bucket:Bucket", "state-bucket")
    (lifecycle,) = bootstrap.of_type(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    )
    assert lifecycle.inputs["bucket"] == bucket.state["id"]
    rules = [r for r in lifecycle.inputs["rules"] if r["status"] == "Enabled"]
    expiring = [r for r in rules if r.get("noncurrentVersionExpiration")]
    assert expiring, f"{lifecycle.urn}: no rule expires noncurrent versions"
    (rule,) = expiring
    assert rule["filter"] == {} or rule["filter"].get("prefix", "") == "", "the whole bucket"
    expiry = rule["noncurrentVersionExpiration"]
    assert expiry["noncurrentDays"] >= 30, "an undo needs at least a month of history"
    # S3 allows 1..100 newer noncurrent versions to be retained.
    assert 1 <= int(expiry["newerNoncurrentVersions"]) <= 100
    # Incomplete multipart uploads (a killed `pulumi up` on a large state) are cleaned too.
    aborts = [r for r in rules if r.get("abortIncompleteMultipartUpload")]
    assert aborts, f"{lifecycle.urn}: no rule aborts incomplete multipart uploads"
    assert aborts[0]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] >= 1


# --- the alerts topic's key: what SNS asks KMS for -----------------------------------------------

# AWS's SNS Developer Guide, "Managing Amazon SNS encryption keys and costs", section "Enable
# compatibility between event sources from AWS services and encrypted topics"
# (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html): the key policy statement
# for a publishing AWS service (CloudWatch among the listed sources) allows "kms:Decrypt" and
# "kms:GenerateDataKey*". IAM matches actions literally, `*` being the only wildcard, so the plain
# "kms:GenerateDataKey" grants less than the documented statement (no ...WithoutPlaintext, no
# ...Pair*).
SNS_PUBLISHER_KEY_ACTIONS = ("kms:GenerateDataKey*", "kms:Decrypt")
DOCUMENTED_GRANT_COVERS = (
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:Decrypt",
)


def alerts_key_policy(stack: EvaluatedStack) -> dict[str, Any]:
    key = stack.named("aws:kms/key:Key", "observability-alerts")
    return dict(json.loads(key.inputs["policy"]))


def cloudwatch_may(policy: dict[str, Any], action: str) -> bool:
    """The key policy decided by the project's IAM evaluator for CloudWatch of this account."""
    request = Request(
        action=action,
        principal={"Service": "cloudwatch.amazonaws.com"},
        context={"aws:SourceAccount": ACCOUNT_ID},
    )
    return evaluate(policy, request).allowed


def test_alerts_key_grants_cloudwatch_what_sns_documents(stack: EvaluatedStack) -> None:
    policy = alerts_key_policy(stack)
    (statement,) = [
        s
        for s in statements(policy)
        if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert sorted(as_list(statement["Action"])) == sorted(SNS_PUBLISHER_KEY_ACTIONS)
    for action in DOCUMENTED_GRANT_COVERS:
        assert cloudwatch_may(policy, action), f"the alerts key does not let CloudWatch {action}"
    assert not cloudwatch_may(policy, "kms:Encrypt"), "and nothing beyond the documented grant"


def test_control_the_plain_generate_data_key_misses_without_plaintext(
    staging: EvaluatedStack,
) -> None:
    """The statement as it was (the plain action): the evaluator refuses what SNS's documented
    wildcard admits."""
    policy = alerts_key_policy(staging)
    for statement in statements(policy):
        if statement.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com":
            statement["Action"] = ["kms:Decrypt", "kms:GenerateDataKey"]
    assert cloudwatch_may(policy, "kms:GenerateDataKey")
    assert not cloudwatch_may(policy, "kms:GenerateDataKeyWithoutPlaintext")


# --- staging rehearses the deployment strategy prod runs ---------------------------------------


def test_staging_deploys_with_the_strategy_prod_deploys_with(
    staging: EvaluatedStack, prod: EvaluatedStack
) -> None:
    """Every release reaches prod through staging; if staging rolled while prod ran blue/green,
    prod's first deploy would be the first blue/green deploy ever run (and a swap failure like
    hashicorp/terraform-provider-aws#45678 would first show in production)."""
    assert staging.config.deployment_strategy == prod.config.deployment_strategy
    for stack in (staging, prod):
        service = stack.named("aws:ecs/service:Service", "services-api")
        strategy = service.inputs["deploymentConfiguration"]["strategy"]
        assert (
            strategy
            == {"blue_green": "BLUE_GREEN", "rolling": "ROLLING"}[stack.config.deployment_strategy]
        ), service.urn
