"""The bootstrap's settings (`shipyard-bootstrap:<key>`), read once into one pydantic model.

The bootstrap is a Pulumi project of its own (`platform/bootstrap/Pulumi.yaml`), one stack per AWS
account. Its model uses the app stack's machinery (`infra.config_model`), so a wrong or missing
setting fails the same way: before any resource is declared, every problem at once, each naming
its `shipyard-bootstrap:` key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field

from infra.config import AWS_REGION, GITHUB_ENVIRONMENT, GITHUB_REPOSITORY, PROJECT, project_name
from infra.config_model import (
    ConfigError,
    ConfigModel,
    ListSetting,
    NoEcho,
    Range,
    matching,
    raw_config_from_pulumi,
    read_config,
    rule,
)
from infra.oidc_subjects import parse_sub_claim_prefix
from infra.paths import REPO_ROOT

__all__ = ["BOOTSTRAP_PROJECT", "BootstrapConfig", "ConfigError", "load_bootstrap_config"]

# Both names come from their Pulumi.yaml (infra.config.project_name): renaming is one edit each.
BOOTSTRAP_PROJECT = project_name(REPO_ROOT / "platform" / "bootstrap")
BNS = f"{BOOTSTRAP_PROJECT}:"
APP_PROJECT = PROJECT  # the app project whose stacks the deploy roles may update
CI_PREFIX = f"{APP_PROJECT}-ci"  # every CI role and policy; the CI boundary protects it

ACCOUNT_ID = re.compile(r"^\d{12}$")
S3_BUCKET = re.compile(r"^(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ECR_REPOSITORY_NAME = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$"
)
ECR_REPOSITORY_ARN = re.compile(
    r"^arn:aws:ecr:[a-z0-9-]+:\d{12}:repository/[a-z0-9]+(?:[._/-][a-z0-9]+)*$"
)
OIDC_PROVIDER_ARN = re.compile(
    r"^arn:aws:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)
STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# The longest job that holds AWS credentials (deploy-stack.yml's `deploy`, 90 minutes) plus room;
# tests/delivery/test_trust.py checks every job's timeout against the role it assumes.
DEFAULT_SESSION_HOURS = 2
# The command that reads a repository's subject prefix from GitHub (the setting's one source).
SUB_CLAIM_PREFIX_COMMAND = "python -m scripts.github_setup --repo OWNER/NAME"


@dataclass(frozen=True)
class DeployTarget:
    """A GitHub environment and the app stack its deploy job updates (`production` -> `prod`)."""

    environment: str
    stack: str


def _deploy_targets(value: Any) -> Any:
    """`{"staging": "staging", "production": "prod"}`: GitHub environment -> app stack."""
    if not isinstance(value, str):
        return value
    try:
        mapping = json.loads(value)
    except json.JSONDecodeError:
        mapping = None
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(
            'must map GitHub environments to app stacks, e.g. {"staging": "staging", '
            '"production": "prod"}'
        )
    targets = []
    for environment, stack in mapping.items():
        if not isinstance(stack, str) or not GITHUB_ENVIRONMENT.match(environment):
            raise ValueError(f"{environment!r} -> {stack!r} is not environment -> stack")
        if not STACK_NAME.match(stack):
            raise ValueError(f"stack {stack!r} is not a stack name (a-z, 0-9, -)")
        targets.append(DeployTarget(environment=environment, stack=stack))
    return tuple(targets)


def _sub_claim_prefix(value: str) -> str:
    try:
        parse_sub_claim_prefix(value)
    except ValueError as wrong:
        raise ValueError(
            f"{wrong}; `{SUB_CLAIM_PREFIX_COMMAND}` prints the repository's own prefix"
        ) from None
    return value


AccountId = Annotated[str, matching(ACCOUNT_ID, "a 12-digit AWS account id")]
StackName = Annotated[str, matching(STACK_NAME, "a stack name (a-z, 0-9, -)")]


class BootstrapConfig(ConfigModel):
    NAMESPACE: ClassVar[str] = BNS
    PROJECT_DIR: ClassVar[str] = "platform/bootstrap"
    DOCS: ClassVar[str] = "docs/getting-started-on-aws.md"
    KEYS: ClassVar[Mapping[str, str]] = {
        "region": "aws:region",
        "deploy_targets": f"{BNS}deploy_environments",
        "session_hours": f"{BNS}ci_session_hours",
    }

    stack: str
    region: Annotated[str, matching(AWS_REGION, "an AWS region")] = Field(
        description="e.g. us-east-1"
    )
    github_repository: Annotated[
        str, matching(GITHUB_REPOSITORY, "a GitHub repository as owner/name")
    ] = Field(description="the GitHub repository (owner/name) whose workflows may use this account")
    # The form of `sub` the repository's tokens carry (legacy `repo:O/R` or immutable
    # `repo:O@ID/R@ID`); every trust policy is built from it (infra/oidc_subjects.py).
    github_sub_claim_prefix: Annotated[str, AfterValidator(_sub_claim_prefix)] = Field(
        description=(
            "the repository's OIDC subject prefix as GitHub reports it; "
            f"`{SUB_CLAIM_PREFIX_COMMAND}` prints it (e.g. repo:octo-org/octo-repo, or "
            "repo:octo-org@123456/octo-repo@456789 for a repository created since mid-2026)"
        )
    )
    main_branch: Annotated[str, matching(re.compile(r"^[A-Za-z0-9._/-]+$"), "a branch")] = "main"
    # GitHub environment of the job that builds and pushes the image (deployment branch: main).
    release_environment: Annotated[
        str, matching(GITHUB_ENVIRONMENT, "a GitHub environment name")
    ] = "release"
    deploy_targets: Annotated[
        tuple[DeployTarget, ...], NoEcho(), BeforeValidator(_deploy_targets)
    ] = ()
    github_oidc_provider_arn: Annotated[
        str | None, matching(OIDC_PROVIDER_ARN, "the GitHub OIDC provider's ARN")
    ] = None
    state_bucket: Annotated[
        str, matching(S3_BUCKET, "an S3 bucket name (3-63 characters a-z, 0-9, '.', '-')")
    ] = Field(
        description=(
            "a globally unique bucket name for Pulumi state, e.g. acme-shipyard-state-<account id>"
        )
    )
    # Exactly one: create the shared repository here, or use the one another account created.
    image_repository: Annotated[
        str | None, matching(ECR_REPOSITORY_NAME, "an ECR repository name such as shipyard")
    ] = None
    image_repository_arn: Annotated[
        str | None,
        matching(ECR_REPOSITORY_ARN, "an ECR repository ARN (arn:aws:ecr:<region>:<account>:...)"),
    ] = None
    image_pull_account_ids: Annotated[tuple[AccountId, ...], ListSetting()] = ()
    # App stacks a pull request (unreviewed code) may preview: the preview role reads their state,
    # secrets key and secrets, nothing of any other stack (infra/deploy_identity.py). A stack
    # listed here that this account does not deploy is simply not previewed from here.
    preview_stacks: Annotated[tuple[StackName, ...], ListSetting()] = ("staging",)
    session_hours: Annotated[int, Range(1, 12)] = DEFAULT_SESSION_HOURS

    @property
    def owns_registry(self) -> bool:
        return self.image_repository is not None

    @property
    def preview_targets(self) -> tuple[DeployTarget, ...]:
        """The deploy targets of this account that pull requests may preview."""
        return tuple(t for t in self.deploy_targets if t.stack in self.preview_stacks)

    @property
    def prefix(self) -> str:
        """Every CI resource is named `<app project>-ci-*`: the boundary protects exactly that
        prefix."""
        return CI_PREFIX

    @rule
    def _one_image_repository(self) -> Iterator[str]:
        if (self.image_repository is None) == (self.image_repository_arn is None):
            yield (
                f"set exactly one of {BNS}image_repository (this account holds the shared image "
                f"repository) and {BNS}image_repository_arn (another account's bootstrap created "
                "it)"
            )

    @rule
    def _prefix_names_the_repository(self) -> Iterator[str]:
        named = parse_sub_claim_prefix(self.github_sub_claim_prefix).repository
        # GitHub compares owner and repository names case-insensitively; the prefix keeps its case.
        if named.lower() != self.github_repository.lower():
            yield (
                f"{BNS}github_sub_claim_prefix names {named}, but {BNS}github_repository is "
                f"{self.github_repository}: run `{SUB_CLAIM_PREFIX_COMMAND}` for "
                f"{self.github_repository} and set the prefix it prints"
            )

    @rule
    def _pull_accounts_with_the_repository(self) -> Iterator[str]:
        if self.image_repository_arn and self.image_pull_account_ids:
            yield (
                f"{BNS}image_pull_account_ids belongs on the stack that sets {BNS}image_repository "
                "(the repository policy lives with the repository)"
            )

    @rule
    def _something_to_create(self) -> Iterator[str]:
        if not self.deploy_targets and self.image_repository is None:
            yield (
                f"{BNS}deploy_environments is empty and this account holds no image repository: "
                "the bootstrap would create nothing but a preview role"
            )


def parse_bootstrap_config(raw: Mapping[str, str], stack: str) -> BootstrapConfig:
    return read_config(BootstrapConfig, raw, stack)


def load_bootstrap_config() -> BootstrapConfig:
    import pulumi

    return parse_bootstrap_config(raw_config_from_pulumi(BootstrapConfig), pulumi.get_stack())
