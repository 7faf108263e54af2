"""The account bootstrap (platform/bootstrap/) under Pulumi's mocks: what `make bootstrap`
creates, checked on the resource inputs the engine would receive."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from infra.bootstrap_config import parse_bootstrap_config
from infra.config import ConfigError
from infra.stateful import STATEFUL_TYPES
from scripts.trust.check import CiRole, roles_accepting
from scripts.trust.policy_evaluation import Request, evaluate
from tests.delivery.support import REPO_ROOT
from tests.trust.conftest import ci_roles
from tools.plan.offline import BOOTSTRAP_DIR, EvaluatedBootstrap, raw_stack_config

ACCOUNT = "123456789012"
PROD_ACCOUNT = "210987654321"


def _policy(bootstrap: EvaluatedBootstrap, rtype: str, name: str, key: str = "policy") -> dict:
    return json.loads(bootstrap.named(rtype, name).inputs[key])


def _one(bootstrap: EvaluatedBootstrap, rtype: str):
    (resource,) = bootstrap.of_type(rtype)
    return resource


# --- state backend -------------------------------------------------------------------------------


def test_the_state_bucket_is_versioned_encrypted_private_and_tls_only(bootstrap):
    bucket = _one(bootstrap, "aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == bootstrap.config.state_bucket
    versioning = _one(bootstrap, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    key = bootstrap.named("aws:kms/key:Key", "state-secrets-key")  # the state key
    for every_key in bootstrap.of_type("aws:kms/key:Key"):
        assert every_key.inputs["enableKeyRotation"] is True, every_key.urn
    (rule,) = _one(
        bootstrap,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key.state["arn"],
    }
    block = _one(bootstrap, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                  "restrictPublicBuckets"))  # fmt: skip
    tls = _policy(bootstrap, "aws:s3/bucketPolicy:BucketPolicy", "state-tls-only")
    statement = next(s for s in tls["Statement"] if s["Sid"] == "TlsOnly")
    plain_http = Request("s3:GetObject", {"AWS": "*"}, {"aws:SecureTransport": "false"})
    assert statement["Effect"] == "Deny"
    assert evaluate({"Statement": [{**statement, "Principal": "*"}]}, plain_http).reason.startswith(
        "explicitly denied"
    )
    assert bootstrap.outputs["state_backend_url"] == (
        f"s3://{bootstrap.config.state_bucket}?region=us-east-1"
    )
    assert bootstrap.outputs["bootstrap_secrets_provider"] == (
        "awskms://alias/shipyard-pulumi-secrets?region=us-east-1"
    )


def test_each_app_stack_has_a_secrets_key_of_its_own(bootstrap, bootstrap_variant):
    # Contract C2: staging's key can be granted without prod's.
    aliases = {
        a.inputs["name"]: a.inputs["targetKeyId"] for a in bootstrap.of_type("aws:kms/alias:Alias")
    }
    staging, prod = (aliases[f"alias/shipyard-pulumi-secrets-{s}"] for s in ("staging", "prod"))
    assert len({staging, prod, aliases["alias/shipyard-pulumi-secrets"]}) == 3
    assert bootstrap.outputs["secrets_providers"] == {
        "staging": "awskms://alias/shipyard-pulumi-secrets-staging?region=us-east-1",
        "prod": "awskms://alias/shipyard-pulumi-secrets-prod?region=us-east-1",
    }
    # and the stack files name their own (the `secretsprovider:` line Pulumi reads)
    for stack, provider in bootstrap.outputs["secrets_providers"].items():
        text = (REPO_ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
        assert f"secretsprovider: {provider}\n" in text, stack
    only_prod = bootstrap_variant(deploy_environments='{"production": "prod"}')
    assert set(only_prod.outputs["secrets_providers"]) == {"prod"}


def test_state_and_images_survive_a_mistaken_destroy_of_the_bootstrap(bootstrap):
    # The engine refuses to delete a protected resource: every stateful resource of the bootstrap
    # (the declared list in platform/infra/stateful.py) carries the option in the evaluated graph.
    stateful = [r for r in bootstrap.resources if r.type in STATEFUL_TYPES]
    assert {r.type for r in stateful} >= {
        "aws:s3/bucket:Bucket",
        "aws:kms/key:Key",
        "aws:ecr/repository:Repository",
    }
    assert [r.urn for r in stateful if not r.protect] == []


# --- registry ------------------------------------------------------------------------------------


def test_one_shared_repository_with_immutable_tags_and_a_lifecycle(bootstrap):
    repository = _one(bootstrap, "aws:ecr/repository:Repository")
    assert repository.inputs["name"] == "shipyard"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert bootstrap.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert bootstrap.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy") == []
    assert bootstrap.outputs["image_repository_url"] == (
        f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/shipyard"
    )


def test_a_prod_account_of_its_own_pulls_but_cannot_push(bootstrap_variant):
    holder = bootstrap_variant(image_pull_account_ids=f'["{PROD_ACCOUNT}"]')
    policy = _policy(
        holder, "aws:ecr/repositoryPolicy:RepositoryPolicy", "images-cross-account-pull"
    )
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{PROD_ACCOUNT}:root"]}
    assert not {a for a in statement["Action"] if "Put" in a or "Upload" in a}


def test_two_accounts_staging_holds_the_images_prod_uses_them(bootstrap_variant):
    staging = bootstrap_variant(
        deploy_environments='{"staging": "staging"}', image_pull_account_ids=f'["{PROD_ACCOUNT}"]'
    )
    arn = staging.outputs["image_repository_arn"]
    prod = bootstrap_variant(
        deploy_environments='{"production": "prod"}',
        image_repository=None,
        image_repository_arn=arn,
        state_bucket="shipyard-org-pulumi-state-prod",
    )
    assert prod.of_type("aws:ecr/repository:Repository") == []
    assert prod.outputs["image_push_role_arn"] is None
    assert prod.outputs["image_repository_url"] == staging.outputs["image_repository_url"]
    assert set(prod.outputs["deploy_targets"]) == {"production"}
    assert set(staging.outputs["deploy_targets"]) == {"staging"}


# --- identities ----------------------------------------------------------------------------------


def test_the_oidc_provider_is_created_once_or_reused(bootstrap, bootstrap_variant):
    provider = _one(bootstrap, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    existing = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    reused = bootstrap_variant(github_oidc_provider_arn=existing)
    assert reused.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    for role in ci_roles(reused):
        for statement in role.trust["Statement"]:
            assert statement["Principal"] == {"Federated": existing}


def test_the_roles_are_exactly_image_push_one_deploy_per_environment_preview_and_plan(bootstrap):
    names = {r.inputs["name"] for r in bootstrap.of_type("aws:iam/role:Role")}
    assert names == {
        "shipyard-ci-image-push", "shipyard-ci-deploy-staging", "shipyard-ci-deploy-production",
        "shipyard-ci-preview", "shipyard-ci-plan",
    }  # fmt: skip
    assert bootstrap.outputs["preview_stacks"] == ["staging"]
    assert bootstrap.outputs["plan_role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/shipyard-ci-plan"


def test_an_account_without_a_preview_stack_has_no_preview_role(bootstrap_variant):
    # Two accounts: the prod account's pull_request subject assumes nothing at all.
    prod = bootstrap_variant(deploy_environments='{"production": "prod"}')
    names = {r.inputs["name"] for r in prod.of_type("aws:iam/role:Role")}
    assert "shipyard-ci-preview" not in names
    assert "shipyard-ci-plan" in names
    assert prod.outputs["preview_role_arn"] is None
    assert prod.outputs["preview_stacks"] == []
    assert roles_accepting(ci_roles(prod), "repo:shipyard-org/shipyard:pull_request") == []


def test_the_preview_role_reads_decrypts_staging_only_and_never_writes_state(bootstrap):
    # The statements as declared; what they add up to under AWS's evaluation is proved in
    # tests/trust/test_unreviewed_code.py.
    grants = _policy(bootstrap, "aws:iam/rolePolicy:RolePolicy", "ci-preview-state")
    by_sid = {s["Sid"]: s for s in grants["Statement"]}
    staging_key = bootstrap.named("aws:kms/key:Key", "state-secrets-key-staging").state["arn"]
    bucket = _one(bootstrap, "aws:s3/bucket:Bucket").state["arn"]
    assert by_sid["DecryptTheStacksSecrets"]["Action"] == ["kms:Decrypt"]
    assert by_sid["DecryptTheStacksSecrets"]["Resource"] == [staging_key]
    assert by_sid["ReadTheStateBucketThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    }
    assert by_sid["RefreshTheStacksSecretVersions"]["Resource"] == [
        f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:shipyard-staging/*"
    ]
    assert by_sid["NoStateWrites"]["Effect"] == "Deny"
    assert by_sid["NoStateWrites"]["Resource"] == [bucket, f"{bucket}/*"]
    attached = [
        a.inputs["policyArn"]
        for a in bootstrap.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name == "ci-preview-read-only"
    ]
    assert attached == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]


def test_a_deploy_role_may_not_write_another_stacks_or_the_bootstraps_state(bootstrap):
    bucket = _one(bootstrap, "aws:s3/bucket:Bucket").state["arn"]
    policy = _policy(bootstrap, "aws:iam/rolePolicy:RolePolicy", "ci-deploy-staging-iam")
    deny = next(s for s in policy["Statement"] if s["Sid"] == "NotOtherStacksState")

    def denied(key: str) -> bool:
        document = {"Statement": [{**deny, "Principal": "*"}]}
        request = Request("s3:PutObject", {"AWS": "*"}, resource=f"{bucket}/{key}")
        return evaluate(document, request).reason.startswith("explicitly denied")

    assert denied(".pulumi/stacks/shipyard/prod.json")
    assert denied(".pulumi/stacks/shipyard/prod.json.bak")
    assert denied(".pulumi/stacks/shipyard/prod.pulumi-tags")
    assert denied(".pulumi/history/shipyard/prod/prod-1.history.json")
    assert denied(".pulumi/journal/shipyard/prod/entry-1.json")
    assert denied(".pulumi/stacks/shipyard-bootstrap/shipyard.json")
    assert denied(".pulumi/locks/organization/shipyard-bootstrap/shipyard/1.json")
    assert denied(".pulumi/meta.yaml")
    assert not denied(".pulumi/stacks/shipyard/staging.json")
    assert not denied(".pulumi/locks/organization/shipyard/staging/1.json")


def _matches(pattern: str, value: str) -> bool:
    from scripts.trust.policy_evaluation import wildcard_match

    return wildcard_match(pattern, value)


def test_the_boundary_keeps_ci_roles_from_granting_themselves_more(bootstrap):
    boundary = _policy(bootstrap, "aws:iam/policy:Policy", "ci-boundary")
    workload_arn = bootstrap.outputs["workload_boundary_arn"]
    denies = {s["Sid"]: s for s in boundary["Statement"] if s["Effect"] == "Deny"}
    # Issue 12, item 8: the deploy role attaching AdministratorAccess to itself.
    own = denies["NoChangesToCiIdentities"]
    assert "iam:AttachRolePolicy" in own["Action"]
    assert "iam:PutRolePolicy" in own["Action"]
    assert f"arn:aws:iam::{ACCOUNT}:role/shipyard-ci-*" in own["Resource"]
    for role in bootstrap.of_type("aws:iam/role:Role"):  # every CI role is protected
        assert _matches(own["Resource"][0], role.state["arn"]), role.urn
    # A new role without the workload boundary is refused, so a CI role cannot mint an admin.
    creating = denies["NewRolesCarryTheWorkloadBoundary"]
    document = {"Statement": [{**creating, "Principal": "*"}]}

    def create(boundary_arn: str | None) -> bool:
        context = {"iam:PermissionsBoundary": boundary_arn} if boundary_arn else {}
        return evaluate(
            document, Request("iam:CreateRole", {"AWS": "*"}, context)
        ).reason.startswith("explicitly denied")

    assert create(None)
    assert create("arn:aws:iam::aws:policy/AdministratorAccess")
    assert not create(workload_arn)
    assert "iam:DeleteRolePermissionsBoundary" in denies["NoBoundaryRemoval"]["Action"]
    assert "iam:CreateAccessKey" in denies["NoLongLivedCredentials"]["Action"]
    # and the workload boundary itself allows no IAM administration at all
    workload = _policy(bootstrap, "aws:iam/policy:Policy", "ci-workload-boundary")
    no_iam = next(s for s in workload["Statement"] if s["Sid"] == "NoIdentityAdministration")
    for action in ("iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:PassRole"):
        assert action in no_iam["Action"], action


def test_the_app_stacks_roles_carry_the_workload_boundary_the_deploy_role_requires():
    from tools.plan.offline import evaluate_stack

    staging = evaluate_stack("staging")
    roles = staging.of_type("aws:iam/role:Role")
    assert roles
    for role in roles:
        assert role.inputs["permissionsBoundary"] == staging.config.workload_boundary_arn, role.urn


def test_only_the_release_environment_can_push_images(bootstrap):
    roles = ci_roles(bootstrap)
    push = bootstrap.outputs["image_push_role_arn"]
    assert roles_accepting(roles, "repo:shipyard-org/shipyard:environment:release") == [push]
    assert push not in roles_accepting(roles, "repo:shipyard-org/shipyard:ref:refs/heads/main")
    assert isinstance(roles[0], CiRole)


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"shipyard-bootstrap:github_repository": None},
            "shipyard-bootstrap:github_repository is required",
        ),
        (
            {"shipyard-bootstrap:github_sub_claim_prefix": None},
            "shipyard-bootstrap:github_sub_claim_prefix is required: .*"
            "`python -m scripts.github_setup --repo OWNER/NAME` prints it",
        ),
        (
            {"shipyard-bootstrap:github_sub_claim_prefix": "shipyard-org/shipyard"},
            "github_sub_claim_prefix='shipyard-org/shipyard' is not a GitHub subject prefix .*"
            "`python -m scripts.github_setup --repo OWNER/NAME` prints",
        ),
        (
            {"shipyard-bootstrap:github_sub_claim_prefix": "repo:shipyard-org@1/shipyard"},
            "carries the id of only one of owner and repository",
        ),
        (
            {"shipyard-bootstrap:github_sub_claim_prefix": "repo:octo-org@1/octo-repo@2"},
            "github_sub_claim_prefix names octo-org/octo-repo, but "
            "shipyard-bootstrap:github_repository is shipyard-org/shipyard",
        ),
        ({"shipyard-bootstrap:state_bucket": "Not_A_Bucket"}, "shipyard-bootstrap:state_bucket"),
        (
            {"shipyard-bootstrap:image_repository": None},
            "set exactly one of shipyard-bootstrap:image_repository",
        ),
        (
            {"shipyard-bootstrap:deploy_environments": "[1]"},
            "shipyard-bootstrap:deploy_environments must map",
        ),
        (
            {"shipyard-bootstrap:ci_session_hours": "24"},
            "shipyard-bootstrap:ci_session_hours=24 is out of range",
        ),
        (
            {"shipyard-bootstrap:preview_stacks": "Staging"},
            "shipyard-bootstrap:preview_stacks",
        ),
        (
            {"shipyard-bootstrap:state_buckett": "x"},
            "shipyard-bootstrap:state_buckett is not a known setting",
        ),
    ],
)
def test_a_bad_setting_fails_before_any_resource_naming_its_key(overrides, message):
    raw = raw_stack_config("shipyard", overrides, project_dir=BOOTSTRAP_DIR)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")) as raised:
        parse_bootstrap_config(raw, "shipyard")
    assert "platform/bootstrap/Pulumi.shipyard.yaml" in str(raised.value)


def test_make_plan_bootstrap_prints_the_tree_offline():
    result = subprocess.run(
        [sys.executable, "-m", "tools.plan", "--bootstrap", "shipyard"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "aws:iam/role:Role ci-deploy-production" in result.stdout
    assert "preview_role_arn = arn:aws:iam::123456789012:role/shipyard-ci-preview" in result.stdout
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "-m tools.plan --bootstrap $(BOOTSTRAP_STACK)" in makefile
