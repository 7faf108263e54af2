"""What a deploy role may do with the roles of its own stack (issue 22, items 3 and 7).

- A role it creates (`shipyard-<stack>-*`, with any trust policy and any policy attached, even
  AdministratorAccess) carries the workload boundary, which denies Pulumi's state bucket and keys
  outright: assumed, it cannot write (or read) another stack's state. Control: under the workload
  boundary recorded before issue 22 the same role could.
- `iam:PassRole` only to the services the app program hands roles to (`PASSED_TO_SERVICES`,
  derived here from the trust policies of every role the program creates). Control: the old
  policy passed them to any service.
- `iam:UpdateRoleDescription` (the AWS provider's call when a role's description changes:
  hashicorp/terraform-provider-aws internal/service/iam/role.go, resourceRoleUpdate,
  `d.HasChange(description)` -> `UpdateRoleDescription`) on the stack's own roles, still denied on
  `shipyard-ci-*` by the CI boundary. Control: the old deploy role lacked it.
"""

from __future__ import annotations

import json

import pytest

from infra.deploy_identity import PASSED_TO_SERVICES
from tests.trust.account_iam import (
    BEFORE_ISSUE_22,
    AccountIam,
    Role,
    app_stack,
    from_bootstrap,
    load_account_iam,
)
from tools.plan.offline import ACCOUNT_ID

STAGING_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/shipyard-staging-api-20261207"
PROD_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/shipyard-prod-api-20261207"
ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture(scope="module")
def account(bootstrap) -> AccountIam:
    return from_bootstrap(bootstrap)


@pytest.fixture(scope="module")
def before() -> AccountIam:
    return load_account_iam(BEFORE_ISSUE_22)


def workload_boundary_arn(account: AccountIam) -> str:
    (arn,) = [
        a for a in account.customer_policies if a.endswith(":policy/shipyard-ci-workload-boundary")
    ]
    return arn


def escape_role(account: AccountIam) -> Role:
    """What the staging deploy role can make: a role of its prefix that trusts the deploy role,
    with AdministratorAccess attached, under the boundary CreateRole must carry."""
    return Role(
        name="shipyard-staging-escape",
        arn=f"arn:aws:iam::{ACCOUNT_ID}:role/shipyard-staging-escape",
        trust={},
        inline=(),
        attached=(ADMINISTRATOR,),
        boundary=workload_boundary_arn(account),
    )


def state_object(account: AccountIam, key: str) -> str:
    return f"{account.state_bucket_arn}/{key}"


def test_the_deploy_role_can_make_and_assume_such_a_role(account):
    # The threat is real: every step is allowed to the staging deploy role ...
    deploy = account.role("shipyard-ci-deploy-staging")
    arn = escape_role(account).arn
    boundary = {"iam:PermissionsBoundary": workload_boundary_arn(account)}
    assert account.can(deploy, "iam:CreateRole", arn, boundary).allowed
    assert account.can(
        deploy, "iam:AttachRolePolicy", arn, {"iam:PolicyARN": ADMINISTRATOR}
    ).allowed
    assert account.can(deploy, "sts:AssumeRole", arn).allowed
    # ... but not without the workload boundary
    assert not account.can(deploy, "iam:CreateRole", arn).allowed


@pytest.mark.parametrize(
    "key",
    [
        ".pulumi/stacks/shipyard/prod.json",
        ".pulumi/locks/organization/shipyard/prod/0b7c4c1e-1d3f-4a57-9a3e-6f0e6c1d2b3a.json",
        ".pulumi/stacks/shipyard-bootstrap/shipyard.json",
        ".pulumi/stacks/shipyard/staging.json",
    ],
)
def test_a_created_role_cannot_touch_any_state(account, key):
    role = escape_role(account)
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:GetObject"):
        decision = account.can(role, action, state_object(account, key))
        assert not decision.allowed, (action, key)
        assert "NoPulumiState" in decision.reason
    assert not account.can(role, "kms:Decrypt", account.secrets_key_of("prod")).allowed


def test_control_under_the_old_workload_boundary_it_wrote_prods_state(before):
    role = escape_role(before)
    for action in ("s3:PutObject", "s3:DeleteObject"):
        key = state_object(before, ".pulumi/stacks/shipyard/prod.json")
        assert before.can(role, action, key).allowed, action
    assert before.can(role, "kms:Decrypt", before.secrets_key_of("prod")).allowed


# --- PassRole --------------------------------------------------------------------------------


def service_principals(document: dict) -> set[str]:
    found = set()
    for statement in document["Statement"]:
        service = statement.get("Principal", {}).get("Service", [])
        found |= set(service if isinstance(service, list) else [service])
    return found


def test_passed_to_services_is_exactly_where_the_app_program_hands_its_roles():
    # Every role the program creates trusts the service it is handed to; the settings that
    # create further roles are evaluated too (blue/green: the ECS load-balancer role; EC2
    # capacity: the container-instance role, passed to EC2 in its instance profile).
    stacks = [
        app_stack("prod"),
        app_stack("staging", compute_mode="ec2", image_platform="linux/arm64", api_memory="1000"),
    ]
    trusted = set()
    for stack in stacks:
        for role in stack.of_type("aws:iam/role:Role"):
            trusted |= service_principals(json.loads(role.inputs["assumeRolePolicy"]))
    assert trusted == set(PASSED_TO_SERVICES)


@pytest.mark.parametrize("service", PASSED_TO_SERVICES)
def test_the_deploy_role_passes_its_stacks_roles_to_those_services(account, service):
    deploy = account.role("shipyard-ci-deploy-staging")
    passed = {"iam:PassedToService": service}
    assert account.can(deploy, "iam:PassRole", STAGING_ROLE, passed).allowed
    assert not account.can(deploy, "iam:PassRole", PROD_ROLE, passed).allowed


@pytest.mark.parametrize(
    "context",
    [
        {"iam:PassedToService": "cloudformation.amazonaws.com"},
        {"iam:PassedToService": "codebuild.amazonaws.com"},
        {},
    ],
)
def test_the_deploy_role_passes_no_role_to_any_other_service(account, before, context):
    deploy = account.role("shipyard-ci-deploy-staging")
    assert not account.can(deploy, "iam:PassRole", STAGING_ROLE, context).allowed
    # control: the old deploy role did
    old = before.role("shipyard-ci-deploy-staging")
    assert before.can(old, "iam:PassRole", STAGING_ROLE, context).allowed


# --- UpdateRoleDescription (item 7) ------------------------------------------------------------


def test_the_deploy_role_updates_its_own_roles_descriptions_only(account, before):
    deploy = account.role("shipyard-ci-deploy-staging")
    assert account.can(deploy, "iam:UpdateRoleDescription", STAGING_ROLE).allowed
    assert not account.can(deploy, "iam:UpdateRoleDescription", PROD_ROLE).allowed
    for ci_role in account.roles:  # the CI boundary still denies it on every CI role
        decision = account.can(deploy, "iam:UpdateRoleDescription", ci_role.arn)
        assert not decision.allowed, ci_role.name
    own = account.can(deploy, "iam:UpdateRoleDescription", deploy.arn)
    assert "permissions boundary's NoChangesToCiIdentities" in own.reason
    # control: before the fix a description change of the stack's own role failed at `up`
    old = before.role("shipyard-ci-deploy-staging")
    assert not before.can(old, "iam:UpdateRoleDescription", STAGING_ROLE).allowed
