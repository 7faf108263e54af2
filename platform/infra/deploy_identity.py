"""Deploy identity: GitHub Actions assumes AWS roles through OIDC, with no stored AWS keys.

- preview role: read-only, for `pulumi preview` on pull requests (and pushes to main) of this
  repository only.
- deploy role: for `pulumi up`, assumable only by a job bound to this stack's GitHub environment
  (subject `repo:OWNER/REPO:environment:NAME`), where reviewers can gate production.

The OIDC provider is one per account and URL: the first stack creates it, or a stack is given
the existing one's ARN (`github_oidc_provider_arn`) when two stacks share an account.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig
from infra.iam_documents import allow, document

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
READ_ONLY_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
# Creates and changes everything in the program except IAM; IAM is granted below, by prefix.
POWER_USER_POLICY = "arn:aws:iam::aws:policy/PowerUserAccess"
IAM_ACTIONS = [
    "iam:GetRole", "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:TagRole",
    "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:PassRole", "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies", "iam:GetRolePolicy", "iam:PutRolePolicy",
    "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
    "iam:ListInstanceProfilesForRole", "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile",
    "iam:GetInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
    "iam:TagInstanceProfile",
]  # fmt: skip


def trust_policy(provider_arn: pulumi.Input[str], subjects: list[str]) -> pulumi.Output[str]:
    return document(
        {
            "Sid": "GitHubActionsOfThisRepository",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                    f"{GITHUB_OIDC_HOST}:sub": subjects,
                }
            },
        }
    )


def preview_subjects(repository: str) -> list[str]:
    return [f"repo:{repository}:pull_request", f"repo:{repository}:ref:refs/heads/main"]


def deploy_subject(repository: str, environment: str) -> str:
    return f"repo:{repository}:environment:{environment}"


@dataclass(frozen=True)
class DeployIdentityArgs:
    config: StackConfig
    account_id: pulumi.Input[str]


class DeployIdentity(pulumi.ComponentResource):
    preview_role_arn: pulumi.Output[str]
    deploy_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DeployIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("shipyard:identity:DeployIdentity", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        provider_arn: pulumi.Input[str]
        if config.github_oidc_provider_arn:
            provider_arn = config.github_oidc_provider_arn
        else:
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                url=f"https://{GITHUB_OIDC_HOST}",
                client_id_lists=[AUDIENCE],
                opts=child,
            )
            provider_arn = provider.arn

        preview = aws.iam.Role(
            f"{name}-preview",
            name=f"{config.prefix}-preview",
            description=f"pulumi preview of {config.prefix} from {config.github_repository}",
            assume_role_policy=trust_policy(
                provider_arn, preview_subjects(config.github_repository)
            ),
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-preview-read-only", role=preview.name, policy_arn=READ_ONLY_POLICY, opts=child
        )

        deploy = aws.iam.Role(
            f"{name}-deploy",
            name=f"{config.prefix}-deploy",
            description=(
                f"pulumi up of {config.prefix} from {config.github_repository}, "
                f"GitHub environment {config.github_environment} only"
            ),
            assume_role_policy=trust_policy(
                provider_arn, [deploy_subject(config.github_repository, config.github_environment)]
            ),
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-deploy-power-user", role=deploy.name, policy_arn=POWER_USER_POLICY, opts=child
        )
        iam_resources = [
            pulumi.Output.concat("arn:aws:iam::", args.account_id, f":role/{config.prefix}-*"),
            pulumi.Output.concat(
                "arn:aws:iam::", args.account_id, f":instance-profile/{config.prefix}-*"
            ),
        ]
        aws.iam.RolePolicy(
            f"{name}-deploy-iam",
            role=deploy.id,
            policy=document(
                # Roles and instance profiles of this stack only (all their names start with
                # the stack prefix); not users, not other stacks' roles.
                allow("ManageThisStacksRoles", IAM_ACTIONS, iam_resources),
                allow(
                    "ManageTheGitHubProvider",
                    [
                        "iam:GetOpenIDConnectProvider",
                        "iam:CreateOpenIDConnectProvider",
                        "iam:DeleteOpenIDConnectProvider",
                        "iam:TagOpenIDConnectProvider",
                        "iam:UpdateOpenIDConnectProviderThumbprint",
                        "iam:AddClientIDToOpenIDConnectProvider",
                    ],
                    pulumi.Output.concat(
                        "arn:aws:iam::", args.account_id, f":oidc-provider/{GITHUB_OIDC_HOST}"
                    ),
                ),
                allow(
                    "ServiceLinkedRolesOfTheServicesUsed",
                    ["iam:CreateServiceLinkedRole"],
                    pulumi.Output.concat(
                        "arn:aws:iam::", args.account_id, ":role/aws-service-role/*"
                    ),
                ),
            ),
            opts=child,
        )
        self.preview_role_arn = preview.arn
        self.deploy_role_arn = deploy.arn
        self.register_outputs(
            {"preview_role_arn": self.preview_role_arn, "deploy_role_arn": self.deploy_role_arn}
        )
