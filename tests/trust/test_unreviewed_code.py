"""Unreviewed code never holds a credential that can decrypt production's secrets, read them, or
write any state (issue 22, item 1; contract C2).

A `pull_request` run uses the workflow file *from the branch*: whatever role its OIDC subject
(`repo:O/R:pull_request`) can assume, anyone who can push a branch holds. The proof finds every
CI role that subject (and the merge queue's) can assume by evaluating each role's trust policy,
then evaluates, with AWS's rules (scripts/trust/policy_evaluation.py `evaluate_identity`: the
role's inline policies, the AWS-managed ReadOnlyAccess/PowerUserAccess as AWS publishes them,
the permissions boundary, the state bucket's own policy):

- `kms:Decrypt` called directly (as Pulumi's awskms:// provider calls it) on prod's secrets key
  and on the state key;
- `secretsmanager:GetSecretValue` on prod's secret (its name from the prod stack evaluated under
  mocks);
- `s3:GetObject` of prod's checkpoint (prod's config and every output, secrets encrypted);
- `s3:PutObject` and `s3:DeleteObject` of every kind of key in the state bucket: checkpoints,
  tags, history, Pulumi's lock keys (`.pulumi/locks/organization/<project>/<stack>/<uuid>.json`),
  the bootstrap's state, the backend's meta.yaml, and a key outside `.pulumi/`.

The control runs the same proof on the CI IAM recorded before issue 22
(fixtures/ci_iam_before_issue22.json) and fails: a pull request decrypted prod's secrets, read
prod's secret and wrote lock objects.

What a merge-queue subject may do: it reaches the plan role only, which reads every stack's
state, decrypts every stack's secrets key and reads every stack's secrets (prod's diff is shown
in the queue, where the code has been reviewed), and writes nothing in the state bucket. The
queue runs the pull request's code as queued; that is reviewed code only because the ruleset on
main requires the approval of the most recent push (`require_last_push_approval`, which
scripts/github_setup sets; without it a push after the approval would run unreviewed in the
queue with prod's secrets). `test_a_merge_queue_subject_reads_prod_only_as_the_plan_role` states
this boundary; the ruleset itself is tested with github_setup.
"""

from __future__ import annotations

import uuid

import pytest

from scripts.github_setup.github_api import merge_queue_ruleset, ruleset
from scripts.github_setup.repository import ALL_FEATURES
from tests.trust.account_iam import (
    BEFORE_ISSUE_22,
    AccountIam,
    app_secret_arn,
    from_bootstrap,
    load_account_iam,
)

from .conftest import REPOSITORY

PULL_REQUEST = f"repo:{REPOSITORY}:pull_request"
MERGE_QUEUE = f"repo:{REPOSITORY}:ref:refs/heads/gh-readonly-queue/main/pr-7-{'a' * 40}"
WRITES = ("s3:PutObject", "s3:DeleteObject")


def lock_key(project: str, stack: str) -> str:
    # pulumi/pulumi pkg/backend/diy/lock.go: path.Join(stackLockDir(FullyQualifiedName()),
    # lockID + ".json"), FullyQualifiedName() = "organization/<project>/<stack>", lockID a UUID.
    return f".pulumi/locks/organization/{project}/{stack}/{uuid.uuid4()}.json"


STATE_KEYS = (
    ".pulumi/meta.yaml",
    ".pulumi/stacks/shipyard/prod.json",
    ".pulumi/stacks/shipyard/staging.json",
    ".pulumi/stacks/shipyard/staging.json.bak",
    ".pulumi/stacks/shipyard/staging.pulumi-tags",
    ".pulumi/history/shipyard/staging/staging-1733600000000000000.checkpoint.json",
    ".pulumi/backups/shipyard/prod/prod.1733600000000000000.json",
    ".pulumi/stacks/shipyard-bootstrap/shipyard.json",
    "not-pulumi/anything",
    lock_key("shipyard", "staging"),
    lock_key("shipyard", "prod"),
    lock_key("shipyard-bootstrap", "shipyard"),
)


@pytest.fixture(scope="module")
def account(bootstrap) -> AccountIam:
    return from_bootstrap(bootstrap)


@pytest.fixture(scope="module")
def before_issue_22() -> AccountIam:
    return load_account_iam(BEFORE_ISSUE_22)


@pytest.fixture(scope="module")
def prod_secret_arn() -> str:
    return app_secret_arn("prod")


def what_unreviewed_code_can_do(account: AccountIam, subject: str, prod_secret: str) -> list[str]:
    """Every forbidden request some role assumable by `subject` is allowed, with the reason."""
    found = []
    bucket = account.state_bucket_arn
    for role in account.roles_assumable_by(subject):
        requests = [
            ("kms:Decrypt", account.secrets_key_of("prod")),
            ("kms:Decrypt", account.key("alias/shipyard-pulumi-secrets")),  # the state key
            ("secretsmanager:GetSecretValue", prod_secret),
            ("s3:GetObject", f"{bucket}/.pulumi/stacks/shipyard/prod.json"),
            *((action, f"{bucket}/{key}") for key in STATE_KEYS for action in WRITES),
        ]
        for action, resource in requests:
            decision = account.can(role, action, resource)
            if decision.allowed:
                found.append(f"{role.name}: {action} on {resource} ({decision.reason})")
    return found


def test_a_pull_request_reaches_the_preview_role_only(account):
    assert [r.name for r in account.roles_assumable_by(PULL_REQUEST)] == ["shipyard-ci-preview"]


def test_a_pull_request_cannot_decrypt_read_prods_secrets_or_write_any_state(
    account, prod_secret_arn
):
    assert what_unreviewed_code_can_do(account, PULL_REQUEST, prod_secret_arn) == []


def test_a_pull_request_still_previews_staging(account):
    # Not a role that can do nothing: what `pulumi preview --stack staging` needs is allowed.
    (preview,) = account.roles_assumable_by(PULL_REQUEST)
    bucket = account.state_bucket_arn
    via_s3 = {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    staging_secret = app_secret_arn("staging")
    for action, resource, context in (
        ("s3:GetObject", f"{bucket}/.pulumi/meta.yaml", {}),
        ("s3:GetObject", f"{bucket}/.pulumi/stacks/shipyard/staging.json", {}),
        ("s3:ListBucket", bucket, {}),
        ("kms:Decrypt", account.key("alias/shipyard-pulumi-secrets"), via_s3),  # the bucket's SSE
        ("kms:Decrypt", account.secrets_key_of("staging"), {}),
        ("secretsmanager:GetSecretValue", staging_secret, {}),
        ("ecs:DescribeServices", "arn:aws:ecs:us-east-1:123456789012:service/c/s", {}),
    ):
        assert account.can(preview, action, resource, context).allowed, (action, resource)


def test_a_merge_queue_subject_reads_prod_only_as_the_plan_role(account, prod_secret_arn, wiring):
    # Reviewed code: the ruleset github_setup writes requires the approval of the last push (so
    # nothing unreviewed enters the queue) and merges through the queue. That is what lets the
    # plan role read and decrypt prod; it still writes no state.
    # The merge queue sits in a ruleset of its own (github_setup, issue 21), written only where
    # the repository's plan has one: ALL_FEATURES is such a repository.
    rules = {r["type"]: r.get("parameters", {}) for r in ruleset(wiring, ALL_FEATURES)["rules"]}
    assert rules["pull_request"]["require_last_push_approval"] is True
    assert rules["pull_request"]["required_approving_review_count"] >= 1
    assert "merge_queue" in {rule["type"] for rule in merge_queue_ruleset()["rules"]}
    (plan,) = account.roles_assumable_by(MERGE_QUEUE)
    assert plan.name == "shipyard-ci-plan"
    bucket = account.state_bucket_arn
    assert account.can(plan, "kms:Decrypt", account.secrets_key_of("prod")).allowed
    assert account.can(plan, "secretsmanager:GetSecretValue", prod_secret_arn).allowed
    assert account.can(plan, "s3:GetObject", f"{bucket}/.pulumi/stacks/shipyard/prod.json").allowed
    found = what_unreviewed_code_can_do(account, MERGE_QUEUE, prod_secret_arn)
    assert not [f for f in found if "s3:PutObject" in f or "s3:DeleteObject" in f]
    # the state key itself only through S3, never a direct decrypt
    assert not account.can(
        plan, "kms:Decrypt", account.key("alias/shipyard-pulumi-secrets")
    ).allowed


def test_a_pull_request_neither_receives_prods_messages_nor_reads_its_logs(
    account, before_issue_22
):
    # ReadOnlyAccess includes sqs:ReceiveMessage (it hides the message and counts towards the
    # dead-letter redrive) and log reads; the preview role denies them. Control: before, allowed.
    queue = "arn:aws:sqs:us-east-1:123456789012:shipyard-prod-order-processing.fifo"
    logs = "arn:aws:logs:us-east-1:123456789012:log-group:/shipyard/prod/api:*"
    for iam in (account, before_issue_22):
        (preview,) = iam.roles_assumable_by(PULL_REQUEST)
        expected = iam is before_issue_22
        assert iam.can(preview, "sqs:ReceiveMessage", queue).allowed is expected
        assert iam.can(preview, "logs:FilterLogEvents", logs).allowed is expected


def test_in_a_prod_account_of_its_own_a_pull_request_assumes_nothing(bootstrap_variant):
    prod = from_bootstrap(bootstrap_variant(deploy_environments='{"production": "prod"}'))
    assert prod.roles_assumable_by(PULL_REQUEST) == []
    assert [r.name for r in prod.roles_assumable_by(MERGE_QUEUE)] == ["shipyard-ci-plan"]


# --- control: the design before issue 22 -------------------------------------------------------


def test_control_before_issue_22_a_pull_request_decrypted_read_and_locked_prod(
    before_issue_22, prod_secret_arn
):
    found = what_unreviewed_code_can_do(before_issue_22, PULL_REQUEST, prod_secret_arn)
    preview = "shipyard-ci-preview"
    prod_key = before_issue_22.secrets_key_of("prod")
    assert f"{preview}: kms:Decrypt on {prod_key} (allowed by DecryptStackSecrets (policy 1))" in (
        found
    )
    assert any(f"GetSecretValue on {prod_secret_arn}" in f for f in found)
    assert any("s3:GetObject on" in f and "prod.json" in f for f in found)
    for action in WRITES:  # a pull request could plant or delete a running deploy's lock
        assert any(f"{action} on" in f and "/locks/organization/shipyard/prod/" in f for f in found)
    # and the merge queue reached that same role
    assert [r.name for r in before_issue_22.roles_assumable_by(MERGE_QUEUE)] == [preview]
