"""CI identities, once per account (created by the bootstrap, never by the app stacks they deploy).

GitHub Actions assumes these roles through OIDC; no AWS key is stored anywhere. Each role trusts
exactly the `sub` claim GitHub issues to the jobs that use it (GitHub's documented formats, built
in infra/oidc_subjects.py from the repository's own prefix; `repo:O/R` below stands for it):

- image push (`shipyard-ci-image-push`): `repo:O/R:environment:<release>`; deploy.yml's `image`.
- deploy, one per environment (`shipyard-ci-deploy-<env>`): `repo:O/R:environment:<env>`;
  deploy-stack.yml's plan and `deploy`: it makes a stack's plan and applies it.
- preview (`shipyard-ci-preview`): `repo:O/R:pull_request` only; previews of the stacks in
  `preview_stacks` (staging). Not created in an account that deploys none of them.
- plan (`shipyard-ci-plan`): the merge queue's `ref:refs/heads/gh-readonly-queue/<main>/*` and
  `ref:refs/heads/<main>`; merge-queue previews of every stack (prod's included), drift,
  rollback's history lookup.

Why this split (issue 22). Pulumi must decrypt a stack's secrets to preview it, and a
`pull_request` run uses the workflow file *from the branch*: whoever can push a branch can make
that job print anything its role can read. So the role a `pull_request` token reaches is what
unreviewed code holds, and it holds only staging's: staging's secrets key (one KMS key per app
stack, infra/state_backend.py), staging's Secrets Manager secrets, staging's checkpoint (the state
bucket's policy lets it read nothing else there), and no write anywhere in the bucket (a preview
takes no lock on the DIY backend); of AWS's ReadOnlyAccess it loses queue messages and logs
(`RUNNING_DATA_ACTIONS`). Prod's diff is shown where the code has been reviewed: the merge
queue (plan role) and the deploy workflow's plan (deploy role, behind the environment). The plan
role may read every stack's state and decrypt every stack's key, and writes nothing; a merge-queue
run executes the code of the pull request as queued, which is reviewed code only because the
repository's ruleset requires an approval of the last push (scripts/github_setup enforces it);
without that rule, someone could push after the approval and the queue would run it.

Only `sub` and `aud` are used: they are the GitHub claims AWS evaluates as condition keys
(`token.actions.githubusercontent.com:sub|aud`). Binding the image push to a GitHub environment
(deployment branch: main only) rather than to `ref:refs/heads/main` keeps a scheduled or
dispatched workflow on main (drift, rollback) from pushing images: they present the bare ref.

Every CI role carries the CI permissions boundary (`shipyard-ci-boundary`): it denies changing any
`shipyard-ci-*` role or policy and the OIDC provider, creating users or access keys, creating a
role (or changing a boundary) without the workload boundary, and changing the state bucket's
settings or the bootstrap's keys, so no CI role, and no role a CI role creates, can grant itself
powers the bootstrap did not give. The workload boundary (every role an app stack creates, e.g.
`shipyard-<stack>-*` made by the deploy role) allows no IAM administration and no access at all
to the state bucket and the bootstrap's keys: a role the deploy role creates and assumes cannot
write another stack's state. A deploy role passes its stack's roles only to the services the app
program hands roles to (`PASSED_TO_SERVICES`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.bootstrap_config import (
    APP_PROJECT,
    BOOTSTRAP_PROJECT,
    CI_PREFIX,
    BootstrapConfig,
    DeployTarget,
)
from infra.config import PROJECT
from infra.iam_documents import Statement, allow, document
from infra.oidc_subjects import (
    branch_subject,
    environment_subject,
    merge_queue_subject_pattern,
    pull_request_subject,
)
from infra.state_backend import (
    BACKEND_META_KEY,
    object_arns,
    preview_read_keys,
    project_state_keys,
    stack_state_keys,
)

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
SUB_KEY = f"{GITHUB_OIDC_HOST}:sub"
AUD_KEY = f"{GITHUB_OIDC_HOST}:aud"
READ_ONLY_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
# Creates and changes everything in the app program except IAM; IAM is granted below, by prefix.
POWER_USER_POLICY = "arn:aws:iam::aws:policy/PowerUserAccess"
# `iam:UpdateRoleDescription`: the AWS provider calls it when a role's description changes
# (terraform-provider-aws internal/service/iam/role.go, resourceRoleUpdate); PowerUserAccess
# has no IAM actions. `iam:PassRole` is granted on its own, with a condition (below).
IAM_ACTIONS = [
    "iam:GetRole", "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:TagRole",
    "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRoleDescription",
    "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetRolePolicy",
    "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
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
# The services the app program hands its roles to (grep platform/infra for `role_arn`, `role=`,
# `iam_instance_profile`): task and execution roles (task_definitions.py) to ECS tasks, the
# blue/green load-balancer role (services.py) to ECS, function roles (functions.py) to Lambda,
# the container-instance profile (compute.py, launch template) to EC2. A new service that is
# handed a role is added here; tests/bootstrap/test_created_roles.py derives the list from the
# program and fails until it is.
PASSED_TO_SERVICES = [
    "ecs-tasks.amazonaws.com", "ecs.amazonaws.com", "lambda.amazonaws.com", "ec2.amazonaws.com",
    # A scheduled task's role (services.yaml, kind scheduled) is handed to EventBridge Scheduler.
    "scheduler.amazonaws.com",
]  # fmt: skip
# Any change to an object (content, ACL, tags, retention, versions): the state's writes.
OBJECT_WRITE_ACTIONS = [
    "s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject", "s3:ReplicateObject",
    "s3:ReplicateDelete", "s3:ReplicateTags",
]  # fmt: skip
# Reading an object's content (GetObject, GetObjectVersion, ... as ReadOnlyAccess grants them).
OBJECT_READ_ACTIONS = ["s3:GetObject*"]
# Changing the state bucket itself: its policy (who may read what), versioning, encryption.
BUCKET_SETTINGS_ACTIONS = [
    "s3:DeleteBucket", "s3:PutBucket*", "s3:DeleteBucketPolicy", "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration", "s3:PutReplicationConfiguration",
]  # fmt: skip
# What ReadOnlyAccess lets a role read or disturb in the running system, which no preview needs:
# receiving a queue's messages (it hides them, and counts towards the dead-letter redrive), the
# services' and the database's logs.
RUNNING_DATA_ACTIONS = [
    "sqs:ReceiveMessage", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:GetLogRecord",
    "logs:StartQuery", "logs:StartLiveTail", "rds:DownloadDBLogFilePortion",
    "rds:DownloadCompleteDBLogFile",
]  # fmt: skip
# Using a KMS key's material (a secrets provider decrypts its data key; S3 decrypts objects).
KEY_USE_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
KEY_ADMIN_ACTIONS = [
    "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:CreateGrant",
    "kms:DisableKeyRotation", "kms:UpdateKeyDescription", "kms:TagResource", "kms:UntagResource",
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


@dataclass(frozen=True)
class StateBackendArns:
    """What the boundaries and roles protect or grant: the state bucket and the bootstrap's keys."""

    bucket_arn: pulumi.Input[str]
    state_key_arn: pulumi.Input[str]  # encrypts the bucket
    secrets_key_arns: Mapping[str, pulumi.Input[str]]  # app stack -> its secrets key

    @property
    def all_key_arns(self) -> list[pulumi.Input[str]]:
        return [self.state_key_arn, *self.secrets_key_arns.values()]

    def bucket_and_objects(self) -> list[pulumi.Input[str]]:
        return [self.bucket_arn, pulumi.Output.concat(self.bucket_arn, "/*")]


def ci_boundary(
    account_id: pulumi.Input[str],
    workload_boundary_arn: pulumi.Input[str],
    state: StateBackendArns,
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
                arn("role", f"{CI_PREFIX}-*"),
                arn("policy", f"{CI_PREFIX}-*"),
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
        # The bucket policy limits what the preview role reads; the keys' policies who uses them.
        {
            "Sid": "NoChangesToTheStateBucket",
            "Effect": "Deny",
            "Action": BUCKET_SETTINGS_ACTIONS,
            "Resource": [state.bucket_arn],
        },
        {
            "Sid": "NoChangesToTheStateKeys",
            "Effect": "Deny",
            "Action": KEY_ADMIN_ACTIONS,
            "Resource": state.all_key_arns,
        },
    )


def workload_boundary(account_id: pulumi.Input[str], state: StateBackendArns) -> pulumi.Output[str]:
    """The ceiling of every role an app stack creates (task, execution, Lambda, EC2 roles, and any
    `<project>-<stack>-*` role the deploy role creates and assumes)."""
    return document(
        {"Sid": "CeilingIsTheRolesOwnPolicies", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {
            "Sid": "NoIdentityAdministration",
            "Effect": "Deny",
            "Action": [
                *IDENTITY_WRITE_ACTIONS,
                *LONG_LIVED_CREDENTIAL_ACTIONS,
                *IAM_ACTIONS[1:],
                "iam:PassRole",
            ],
            "Resource": "*",
        },
        # A workload never touches Pulumi's state: no read, no write, no lock, no key.
        {
            "Sid": "NoPulumiState",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": state.bucket_and_objects(),
        },
        {
            "Sid": "NoPulumiKeys",
            "Effect": "Deny",
            "Action": "kms:*",
            "Resource": state.all_key_arns,
        },
    )


# --- the component ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployIdentityArgs:
    config: BootstrapConfig
    account_id: pulumi.Input[str]
    state: StateBackendArns
    # The shared image repository, when this account holds it (else no push role here).
    image_repository_arn: pulumi.Input[str] | None


class DeployIdentity(pulumi.ComponentResource):
    provider_arn: pulumi.Output[str]
    preview_role_arn: pulumi.Output[str] | None  # None: this account deploys no preview stack
    plan_role_arn: pulumi.Output[str] | None  # None: this account deploys no stack
    image_push_role_arn: pulumi.Output[str] | None
    deploy_role_arns: dict[str, pulumi.Output[str]]  # GitHub environment -> role ARN
    workload_boundary_arn: pulumi.Output[str]
    # Statements for the state bucket's policy (StateBackend.set_bucket_policy).
    state_bucket_statements: list[Statement]

    def __init__(
        self, name: str, args: DeployIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:identity:DeployIdentity", name, None, opts)
        config = args.config
        state = args.state
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
            description="Ceiling of every role the app stacks create: no IAM administration, "
            "no Pulumi state",
            policy=workload_boundary(args.account_id, state),
            opts=child,
        )
        self.workload_boundary_arn = workload.arn
        boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=f"{config.prefix}-boundary",
            description="Ceiling of every CI role: cannot widen itself or create unbounded roles",
            policy=ci_boundary(args.account_id, workload.arn, state),
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

        def read_only(key: str, role_: aws.iam.Role) -> None:
            aws.iam.RolePolicyAttachment(
                f"{name}-{key}-read-only", role=role_.name, policy_arn=READ_ONLY_POLICY, opts=child
            )

        def secrets_of(stacks: list[str]) -> list[pulumi.Output[str]]:
            return [
                pulumi.Output.concat(
                    "arn:aws:secretsmanager:", config.region, ":", args.account_id,
                    f":secret:{APP_PROJECT}-{stack}/*",
                )
                for stack in stacks
            ]  # fmt: skip

        self.state_bucket_statements = []
        all_stacks = [t.stack for t in config.deploy_targets]

        # Preview (unreviewed code): staging's state, key and secrets; nothing else.
        preview_stacks = [t.stack for t in config.preview_targets]
        self.preview_role_arn = None
        if preview_stacks:
            preview = role(
                "preview",
                f"pulumi preview of {', '.join(preview_stacks)} from {repo}: pull requests "
                "(unreviewed code)",
                [pull_request_subject(prefix)],
            )
            read_only("preview", preview)
            aws.iam.RolePolicy(
                f"{name}-preview-state",
                role=preview.id,
                policy=_reader_policy(
                    config,
                    state,
                    preview_stacks,
                    secrets_of(preview_stacks),
                    {
                        "Sid": "NoRunningData",
                        "Effect": "Deny",
                        "Action": RUNNING_DATA_ACTIONS,
                        "Resource": "*",
                    },
                ),
                opts=child,
            )
            # ReadOnlyAccess reads every object; the bucket's own policy narrows this role to
            # the previewed stacks' checkpoints (an allow-list, so a stack added later is closed).
            self.state_bucket_statements.append(
                {
                    "Sid": "PullRequestsReadOnlyThePreviewedStacks",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": OBJECT_READ_ACTIONS,
                    "NotResource": object_arns(
                        state.bucket_arn,
                        sorted(
                            {k for s in preview_stacks for k in preview_read_keys(APP_PROJECT, s)}
                        ),
                    ),
                    "Condition": {"StringEquals": {"aws:PrincipalArn": preview.arn}},
                }
            )
            self.preview_role_arn = preview.arn

        # Plan (reviewed code: merge queue, main): every stack's state and keys, no writes.
        self.plan_role_arn = None
        if all_stacks:
            plan = role(
                "plan",
                f"pulumi preview/refresh of every stack from {repo}: merge queue and "
                f"{config.main_branch} (reviewed code)",
                [
                    merge_queue_subject_pattern(prefix, config.main_branch),
                    branch_subject(prefix, config.main_branch),
                ],
            )
            read_only("plan", plan)
            aws.iam.RolePolicy(
                f"{name}-plan-state",
                role=plan.id,
                policy=_reader_policy(config, state, all_stacks, secrets_of(all_stacks)),
                opts=child,
            )
            self.plan_role_arn = plan.arn

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
                "plan_role_arn": self.plan_role_arn,
                "deploy_role_arns": self.deploy_role_arns,
                "workload_boundary_arn": self.workload_boundary_arn,
            }
        )


def _reader_policy(
    config: BootstrapConfig,
    state: StateBackendArns,
    stacks: list[str],
    secret_arns: list[pulumi.Output[str]],
    *further: Statement,
) -> pulumi.Output[str]:
    """A preview/refresh of `stacks` (with ReadOnlyAccess): their keys and secrets, no writes."""
    statements: list[Statement] = [
        # Pulumi's awskms:// provider decrypts the stack's data key with the stack's key.
        allow(
            "DecryptTheStacksSecrets", ["kms:Decrypt"], [state.secrets_key_arns[s] for s in stacks]
        ),
        # Reading the (SSE-KMS) bucket: only through S3, never a direct Decrypt of the state key
        # (before issue 22 it was every stack's secrets key; a stack not yet moved still uses it).
        allow(
            "ReadTheStateBucketThroughS3",
            ["kms:Decrypt"],
            [state.state_key_arn],
            {"StringEquals": {"kms:ViaService": f"s3.{config.region}.amazonaws.com"}},
        ),
        {
            "Sid": "NoStateWrites",
            "Effect": "Deny",
            "Action": [*OBJECT_WRITE_ACTIONS, *BUCKET_SETTINGS_ACTIONS],
            "Resource": state.bucket_and_objects(),
        },
    ]
    if secret_arns:
        # A refresh reads the app's Secrets Manager secret versions.
        statements.insert(
            1,
            allow("RefreshTheStacksSecretVersions", ["secretsmanager:GetSecretValue"], secret_arns),
        )
    return document(*statements, *further)


def _deploy_policy(
    config: BootstrapConfig, target: DeployTarget, args: DeployIdentityArgs
) -> pulumi.Output[str]:
    prefix = f"{APP_PROJECT}-{target.stack}"
    state = args.state

    def iam_arn(kind: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("arn:aws:iam::", args.account_id, f":{kind}/{prefix}-*")

    # Other stacks' state (the other environments', and the bootstrap's own) is not this role's
    # to write, even though PowerUserAccess would allow it in a shared account.
    others = [t.stack for t in config.deploy_targets if t.stack != target.stack]
    protected = [k for other in others for k in stack_state_keys(APP_PROJECT, other)]
    protected += [*project_state_keys(BOOTSTRAP_PROJECT), BACKEND_META_KEY]
    statements: list[Statement] = [
        # Roles and instance profiles of this stack only (every name starts with its prefix).
        allow("ThisStacksRoles", IAM_ACTIONS, [iam_arn("role"), iam_arn("instance-profile")]),
        allow(
            "PassThisStacksRolesToItsServices",
            ["iam:PassRole"],
            [iam_arn("role")],
            {"StringEquals": {"iam:PassedToService": PASSED_TO_SERVICES}},
        ),
        {
            "Sid": "NotOtherStacksState",
            "Effect": "Deny",
            "Action": OBJECT_WRITE_ACTIONS,
            "Resource": object_arns(state.bucket_arn, protected),
        },
    ]
    other_keys = [state.secrets_key_arns[o] for o in others]
    if other_keys:
        statements.append(
            {
                "Sid": "NotOtherStacksSecrets",
                "Effect": "Deny",
                "Action": KEY_USE_ACTIONS,
                "Resource": other_keys,
            }
        )
    return document(*statements)
