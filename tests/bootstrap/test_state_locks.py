"""The deploy roles' state denies match the keys Pulumi really writes (issue 22, item 2).

Lock keys are built the way Pulumi's DIY backend builds them (pulumi/pulumi
`pkg/backend/diy/lock.go`: `lockPath` = `path.Join(stackLockDir(stackRef.FullyQualifiedName()),
b.lockID + ".json")`, `stackLockDir` = `.pulumi/locks/` + `fsutil.QnamePath(name)`, and
`diyBackendReference.FullyQualifiedName()` = `organization/<project>/<stack>` (backend.go), with
`lockID` a UUID; lock_test.go's own fixture is
`/.pulumi/locks/organization/proj/stack/18262c43-124d-4f19-b90f-24db3c0a22a3.json`). The stack's
tags live beside its checkpoint: `stackTagsPath` = `ref.StackBasePath() + ".pulumi-tags"`
(stack_tags.go), i.e. `.pulumi/stacks/<project>/<stack>.pulumi-tags` (store.go).

The control evaluates the same keys against the deploy role recorded before issue 22, whose deny
named `.pulumi/locks/<project>/<stack>/*`: Pulumi's real prod lock key was not denied to the
staging deploy role (only a key built with the old prefix was).
"""

from __future__ import annotations

import uuid

import pytest

from tests.trust.account_iam import BEFORE_ISSUE_22, AccountIam, from_bootstrap, load_account_iam

ORGANIZATION = "organization"  # the DIY backend's only organization (store.go, ParseReference)


def pulumi_lock_key(project: str, stack: str, lock_id: str | None = None) -> str:
    fully_qualified_name = f"{ORGANIZATION}/{project}/{stack}"
    return f".pulumi/locks/{fully_qualified_name}/{lock_id or uuid.uuid4()}.json"


def pulumi_tags_key(project: str, stack: str) -> str:
    return f".pulumi/stacks/{project}/{stack}.pulumi-tags"


def old_prefix_lock_key(project: str, stack: str) -> str:
    """Where the pre-issue-22 deny looked for locks: no `organization/` segment."""
    return f".pulumi/locks/{project}/{stack}/{uuid.uuid4()}.json"


@pytest.fixture(scope="module")
def account(bootstrap) -> AccountIam:
    return from_bootstrap(bootstrap)


def writes(account: AccountIam, role_name: str, key: str) -> dict[str, bool]:
    role = account.role(role_name)
    resource = f"{account.state_bucket_arn}/{key}"
    return {a: account.can(role, a, resource).allowed for a in ("s3:PutObject", "s3:DeleteObject")}


def test_the_fixture_is_pulumis_own_lock_path():
    assert pulumi_lock_key("proj", "stack", "18262c43-124d-4f19-b90f-24db3c0a22a3") == (
        ".pulumi/locks/organization/proj/stack/18262c43-124d-4f19-b90f-24db3c0a22a3.json"
    )


@pytest.mark.parametrize(
    ("role", "own", "other"),
    [
        ("shipyard-ci-deploy-staging", "staging", "prod"),
        ("shipyard-ci-deploy-production", "prod", "staging"),
    ],
)
def test_a_deploy_role_takes_its_own_lock_and_no_other_stacks(account, role, own, other):
    nothing = {"s3:PutObject": False, "s3:DeleteObject": False}
    everything = {"s3:PutObject": True, "s3:DeleteObject": True}
    assert writes(account, role, pulumi_lock_key("shipyard", own)) == everything
    assert writes(account, role, pulumi_tags_key("shipyard", own)) == everything
    assert writes(account, role, pulumi_lock_key("shipyard", other)) == nothing
    assert writes(account, role, pulumi_tags_key("shipyard", other)) == nothing
    assert writes(account, role, pulumi_lock_key("shipyard-bootstrap", "shipyard")) == nothing
    assert writes(account, role, pulumi_tags_key("shipyard-bootstrap", "shipyard")) == nothing


@pytest.mark.parametrize("role", ["shipyard-ci-preview", "shipyard-ci-plan"])
def test_no_preview_role_writes_any_lock_or_tags(account, role):
    # A preview and `refresh --preview-only` take no lock on the DIY backend (backend.go).
    for key in (pulumi_lock_key("shipyard", "staging"), pulumi_tags_key("shipyard", "staging")):
        assert writes(account, role, key) == {"s3:PutObject": False, "s3:DeleteObject": False}


def test_control_the_old_deny_missed_pulumis_lock_and_tags_keys():
    before = load_account_iam(BEFORE_ISSUE_22)
    staging_deploy = "shipyard-ci-deploy-staging"
    # the old prefix was denied ...
    assert writes(before, staging_deploy, old_prefix_lock_key("shipyard", "prod")) == {
        "s3:PutObject": False,
        "s3:DeleteObject": False,
    }
    # ... but Pulumi never writes there: its real lock and tags keys of prod were open
    for key in (pulumi_lock_key("shipyard", "prod"), pulumi_tags_key("shipyard", "prod")):
        assert writes(before, staging_deploy, key) == {
            "s3:PutObject": True,
            "s3:DeleteObject": True,
        }
    # and a pull request's preview role could plant or delete any lock
    assert writes(before, "shipyard-ci-preview", pulumi_lock_key("shipyard", "prod")) == {
        "s3:PutObject": True,
        "s3:DeleteObject": True,
    }
