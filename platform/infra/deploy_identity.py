"""CI identities, once per account (created by the bootstrap, never by the app stacks they deploy).

GitHub Actions assumes these roles through OIDC; no AWS key is stored anywhere. Each role trusts
exactly the `sub` claim GitHub issues to the jobs that use it (GitHub's documented formats, built
in infra/oidc_subjects.py from the repository's own prefix; `repo:O/R` below stands for it):

- image push (`shipyard-ci-image-push`): `repo:O/R:environment:<release>`; deploy.yml's `image`.
- deploy, one per environment (`shipyard-ci-deploy-<env>`): `repo:O/R:environment:<env>`;
  deploy-stack.yml's `deploy`.
- preview (`shipyard-ci-preview`): `repo:O/R:pull_request`, the merge queue's
  `ref:refs/heads/gh-readonly-queue/<main>/*` and `ref:refs/heads/<main>`; previews, the prod
  plan, drift, rollback's history lookup.

Only `sub` and `aud` are used: they are the GitHub claims AWS evaluates as condition keys
(`token.actions.githubusercontent.com:sub|aud`). Binding the image push to a GitHub environment
(deployment branch: main only) rather than to `ref:refs/heads/main` keeps a scheduled or
dispatched workflow on main (drift, rollback) from pushing images: they present the bare ref.

Every CI role carries the CI permissions boundary (`shipyard-ci-boundary`): it denies changing any
`shipyard-ci-*` role or policy and the OIDC provider, creating users or access keys, and creating a
role (or changing a boundary) without the workload boundary, so no CI role, and no role a CI role
creates, can grant itself IAM powers the bootstrap did not give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.bootstrap_config import APP_PROJECT, BOOTSTRAP_PROJECT, BootstrapConfig, DeployTarget
from infra.iam_documents import Statement, allow, document
from infra.oidc_subjects import environment_subject, preview_subjects

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
SUB_KEY = f"{GITHUB_OIDC_HOST}:sub"
AUD_KEY = f"{GITHUB_OIDC_HOST}:aud"
READ_ONLY_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
# Creates and changes everything in the app program except IAM; IAM is granted below, by prefix.
POWER_USER_POLICY = "arn:aws:iam::aws:policy/PowerUserAccess"
IAM_ACTIONS = [
    "iam:GetRole", "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:TagRole",
    "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:PassRole", "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies", "iam:GetRolePolicy", "iam:PutRolePolicy",
    "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary", "iam:ListInstanceProfilesForRole",
    "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile",
    "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile",
]  # fmt: skip
# What would let a CI role rewrite its own (or another CI role's) powers or trust.
IDENTITY_WRITE_ACTIONS = [
    "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
    "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:DeleteRole",
    "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary", "iam:TagRole",
    "iam:UntagRole", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy",
    "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint", "iam:DeleteOpenIDConnectProvider",
    "iam:CreateOpenIDConnectProvider",
]  # fmt: skip
LONG_LIVED_CREDENTIAL_ACTIONS = [
    "iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
    "iam:AttachUserPolicy", "iam:PutUserPolicy", "iam:AddUserToGroup", "iam:CreateGroup",
    "iam:AttachGroupPolicy", "iam:PutGroupPolicy",
]  # fmt: skip
ECR_PUSH_ACTIONS = [
    "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
]  # fmt: skip


def trust_policy(provider_arn: pulumi.Input[str], subjects: Sequence[str]) -> pulumi.Output[str]:
    # StringLike only where a subject has a wildcard; StringEquals everywhere else, so a `*` in a
    # repository or environment name can never widen an exact subject.
    exact = [s for s in subjects if "*" not in s and "?" not in s]
    patterns = [s for s in subjects if s not in exact]
    statements: list[Statement] = []
    # Two operators in one statement are ANDed by AWS; "exact OR pattern" takes two statements.
    if exact:
        statements.append(
            _web_identity_statement(
                "ExactSubjects",
                provider_arn,
                {"StringEquals": {AUD_KEY: AUDIENCE, SUB_KEY: exact}},
            )
        )
    if patterns:
        statements.append(
            _web_identity_statement(
                "SubjectPatterns",
                provider_arn,
                {"StringEquals": {AUD_KEY: AUDIENCE}, "StringLike": {SUB_KEY: patterns}},
            )
        )
    return document(*statements)


def _web_identity_statement(
    sid: str, provider_arn: pulumi.Input[str], condition: dict[str, Any]
) -> Statement:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition,
    }


# --- boundaries ----------------------------------------------------------------------------------


def ci_boundary(
    account_id: pulumi.Input[str], workload_boundary_arn: pulumi.Input[str]
) -> pulumi.Output[str]:
    def arn(kind: str, pattern: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("arn:aws:iam::", account_id, f":{kind}/{pattern}")

    return document(
        # A boundary is a ceiling: what a role may do is its own policies, cut by the denies below.
        {"Sid": "CeilingIsTheRolesOwnPolicies", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {
            "Sid": "NoChangesToCiIdentities",
            "Effect": "Deny",
            "Action": IDENTITY_WRITE_ACTIONS,
            "Resource": [
                arn("role", "shipyard-ci-*"),
                arn("policy", "shipyard-ci-*"),
                arn("oidc-provider", GITHUB_OIDC_HOST),
            ],
        },
        {
            "Sid": "NewRolesCarryTheWorkloadBoundary",
            "Effect": "Deny",
            "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": workload_boundary_arn}},
        },
        {
            "Sid": "NoBoundaryRemoval",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary"],
            "Resource": "*",
        },
        {
            "Sid": "NoLongLivedCredentials",
            "Effect": "Deny",
            "Action": LONG_LIVED_CREDENTIAL_ACTIONS,
            "Resource": "*",
        },
    )


def workload_boundary(account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The ceiling of every role an app stack creates (task, execution, Lambda, EC2 roles)."""
    return document(
        {"Sid": "CeilingIsTheRolesOwnPolicies", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {
            "Sid": "NoIdentityAdministration",
            "Effect": "Deny",
            "Action": [*IDENTITY_WRITE_ACTIONS, *LONG_LIVED_CREDENTIAL_ACTIONS, *IAM_ACTIONS[1:]],
            "Resource": "*",
        },
    )


# --- the component ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployIdentityArgs:
    config: BootstrapConfig
    account_id: pulumi.Input[str]
    state_bucket_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]
    # The shared image repository, when this account holds it (else no push role here).
    image_repository_arn: pulumi.Input[str] | None


class DeployIdentity(pulumi.ComponentResource):
    provider_arn: pulumi.Output[str]
    preview_role_arn: pulumi.Output[str]
    image_push_role_arn: pulumi.Output[str] | None
    deploy_role_arns: dict[str, pulumi.Output[str]]  # GitHub environment -> role ARN
    workload_boundary_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DeployIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("shipyard:identity:DeployIdentity", name, None, opts)
        config = args.config
        repo = config.github_repository
        prefix = config.github_sub_claim_prefix
        child = pulumi.ResourceOptions(parent=self)
        session = config.session_hours * 3600

        if config.github_oidc_provider_arn:
            # One provider per account and URL: reuse the one that exists.
            self.provider_arn = pulumi.Output.from_input(config.github_oidc_provider_arn)
        else:
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                url=f"https://{GITHUB_OIDC_HOST}",
                client_id_lists=[AUDIENCE],
                opts=child,
            )
            self.provider_arn = provider.arn

        workload = aws.iam.Policy(
            f"{name}-workload-boundary",
            name=f"{config.prefix}-workload-boundary",
            description="Ceiling of every role the app stacks create: no IAM administration",
            policy=workload_boundary(args.account_id),
            opts=child,
        )
        self.workload_boundary_arn = workload.arn
        boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=f"{config.prefix}-boundary",
            description="Ceiling of every CI role: cannot widen itself or create unbounded roles",
            policy=ci_boundary(args.account_id, workload.arn),
            opts=child,
        )

        def role(key: str, description: str, subjects: list[str]) -> aws.iam.Role:
            return aws.iam.Role(
                f"{name}-{key}",
                name=f"{config.prefix}-{key}",
                description=description,
                assume_role_policy=trust_policy(self.provider_arn, subjects),
                max_session_duration=session,
                permissions_boundary=boundary.arn,
                opts=child,
            )

        # Preview: read-only, plus exactly what a preview and a refresh of these stacks need.
        preview = role(
            "preview",
            f"pulumi preview/refresh from {repo}: pull requests, merge queue, main",
            preview_subjects(prefix, config.main_branch),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-preview-read-only", role=preview.name, policy_arn=READ_ONLY_POLICY, opts=child
        )
        aws.iam.RolePolicy(
            f"{name}-preview-state",
            role=preview.id,
            policy=document(
                allow("DecryptStackSecrets", ["kms:Decrypt"], [args.secrets_key_arn]),
                # The DIY backend's lock objects only; stack state itself stays read-only.
                allow(
                    "StackLocks",
                    ["s3:PutObject", "s3:DeleteObject"],
                    [pulumi.Output.concat(args.state_bucket_arn, "/.pulumi/locks/*")],
                ),
                # A refresh reads the app's Secrets Manager secret versions (their values are in
                # the state already, encrypted with the key above).
                allow(
                    "RefreshAppSecretVersions",
                    ["secretsmanager:GetSecretValue"],
                    [
                        pulumi.Output.concat(
                            "arn:aws:secretsmanager:",
                            config.region,
                            ":",
                            args.account_id,
                            f":secret:{APP_PROJECT}-*",
                        )
                    ],
                ),
            ),
            opts=child,
        )
        self.preview_role_arn = preview.arn

        self.image_push_role_arn = None
        if args.image_repository_arn is not None:
            push = role(
                "image-push",
                f"push the service image from {repo}, environment {config.release_environment}",
                [environment_subject(prefix, config.release_environment)],
            )
            aws.iam.RolePolicy(
                f"{name}-image-push",
                role=push.id,
                policy=document(
                    allow("EcrLogin", ["ecr:GetAuthorizationToken"], "*"),
                    allow(
                        "PushToTheSharedRepository", ECR_PUSH_ACTIONS, [args.image_repository_arn]
                    ),
                ),
                opts=child,
            )
            self.image_push_role_arn = push.arn

        self.deploy_role_arns = {}
        for target in config.deploy_targets:
            deploy = role(
                f"deploy-{target.environment}",
                f"pulumi up of stack {target.stack} from {repo}, environment {target.environment}",
                [environment_subject(prefix, target.environment)],
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-deploy-{target.environment}-power-user",
                role=deploy.name,
                policy_arn=POWER_USER_POLICY,
                opts=child,
            )
            aws.iam.RolePolicy(
                f"{name}-deploy-{target.environment}-iam",
                role=deploy.id,
                policy=_deploy_policy(config, target, args),
                opts=child,
            )
            self.deploy_role_arns[target.environment] = deploy.arn

        self.register_outputs(
            {
                "preview_role_arn": self.preview_role_arn,
                "deploy_role_arns": self.deploy_role_arns,
                "workload_boundary_arn": self.workload_boundary_arn,
            }
        )


def _deploy_policy(
    config: BootstrapConfig, target: DeployTarget, args: DeployIdentityArgs
) -> pulumi.Output[str]:
    prefix = f"{APP_PROJECT}-{target.stack}"

    def iam_arn(kind: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("arn:aws:iam::", args.account_id, f":{kind}/{prefix}-*")

    def state(project: str, stack: str) -> list[pulumi.Output[str]]:
        return [
            pulumi.Output.concat(args.state_bucket_arn, path)
            for path in (
                f"/.pulumi/stacks/{project}/{stack}.json*",
                f"/.pulumi/history/{project}/{stack}/*",
                f"/.pulumi/backups/{project}/{stack}/*",
                f"/.pulumi/locks/{project}/{stack}/*",
            )
        ]

    # Other stacks' state (the other environments', and the bootstrap's own) is not this role's
    # to write, even though PowerUserAccess would allow it in a shared account.
    others = [t.stack for t in config.deploy_targets if t.stack != target.stack]
    protected = [p for other in others for p in state(APP_PROJECT, other)]
    protected += [
        pulumi.Output.concat(args.state_bucket_arn, f"/.pulumi/{kind}/{BOOTSTRAP_PROJECT}/*")
        for kind in ("stacks", "history", "backups", "locks")
    ]
    return document(
        # Roles and instance profiles of this stack only (every name starts with its prefix).
        allow("ThisStacksRoles", IAM_ACTIONS, [iam_arn("role"), iam_arn("instance-profile")]),
        {
            "Sid": "NotOtherStacksState",
            "Effect": "Deny",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": protected,
        },
    )
