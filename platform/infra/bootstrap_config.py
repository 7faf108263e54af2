"""The bootstrap's settings (`shipyard-bootstrap:<key>`), read once into one typed object.

The bootstrap is a Pulumi project of its own (`platform/bootstrap/Pulumi.yaml`), one stack per AWS
account. It reuses the app stack's reader and parsers (`infra.config`), so a wrong or missing
setting fails the same way: before any resource is declared, every problem at once, each naming
its `shipyard-bootstrap:` key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from infra.config import (
    AWS_REGION,
    GITHUB_ENVIRONMENT,
    GITHUB_REPOSITORY,
    ConfigError,
    _int_range,
    _list_of,
    _Reader,
    _text,
)

BOOTSTRAP_PROJECT = "shipyard-bootstrap"
BNS = f"{BOOTSTRAP_PROJECT}:"
APP_PROJECT = "shipyard"  # the app project whose stacks the deploy roles may update

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


@dataclass(frozen=True)
class DeployTarget:
    """A GitHub environment and the app stack its deploy job updates (`production` -> `prod`)."""

    environment: str
    stack: str


@dataclass(frozen=True)
class BootstrapConfig:
    stack: str
    region: str
    github_repository: str
    main_branch: str
    # GitHub environment of the job that builds and pushes the image (deployment branch: main).
    release_environment: str
    deploy_targets: tuple[DeployTarget, ...]
    github_oidc_provider_arn: str | None
    state_bucket: str
    # Exactly one: create the shared repository here, or use the one another account created.
    image_repository: str | None
    image_repository_arn: str | None
    image_pull_account_ids: tuple[str, ...]
    session_hours: int

    @property
    def owns_registry(self) -> bool:
        return self.image_repository is not None

    @property
    def prefix(self) -> str:
        """Every CI resource is named `shipyard-ci-*`: the boundary protects exactly that prefix."""
        return "shipyard-ci"


def _deploy_targets(key: str, value: str) -> tuple[DeployTarget, ...]:
    """`{"staging": "staging", "production": "prod"}`: GitHub environment -> app stack."""
    try:
        mapping = json.loads(value)
    except json.JSONDecodeError:
        mapping = None
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(
            f"{key} must map GitHub environments to app stacks, e.g. "
            '{"staging": "staging", "production": "prod"}'
        )
    targets = []
    for environment, stack in mapping.items():
        if not isinstance(stack, str) or not GITHUB_ENVIRONMENT.match(environment):
            raise ValueError(f"{key}: {environment!r} -> {stack!r} is not environment -> stack")
        if not STACK_NAME.match(stack):
            raise ValueError(f"{key}: stack {stack!r} is not a stack name (a-z, 0-9, -)")
        targets.append(DeployTarget(environment=environment, stack=stack))
    return tuple(targets)


def parse_bootstrap_config(raw: Mapping[str, str], stack: str) -> BootstrapConfig:
    r = _Reader(raw, namespace=BNS)
    region = r.require("aws:region", _text(AWS_REGION, "an AWS region"), "e.g. us-east-1")
    repository = r.require(
        "github_repository",
        _text(GITHUB_REPOSITORY, "a GitHub repository as owner/name"),
        "the GitHub repository (owner/name) whose workflows may use this account",
    )
    branch = r.get("main_branch", _text(re.compile(r"^[A-Za-z0-9._/-]+$"), "a branch"), "main")
    release = r.get(
        "release_environment", _text(GITHUB_ENVIRONMENT, "a GitHub environment name"), "release"
    )
    targets = r.get("deploy_environments", _deploy_targets, ())
    oidc_arn = r.get(
        "github_oidc_provider_arn", _text(OIDC_PROVIDER_ARN, "the GitHub OIDC provider's ARN")
    )
    bucket = r.require(
        "state_bucket",
        _text(S3_BUCKET, "an S3 bucket name (3-63 characters a-z, 0-9, '.', '-')"),
        "a globally unique bucket name for Pulumi state, e.g. acme-shipyard-state-<account id>",
    )
    image_repository = r.get(
        "image_repository", _text(ECR_REPOSITORY_NAME, "an ECR repository name such as shipyard")
    )
    image_repository_arn = r.get(
        "image_repository_arn",
        _text(ECR_REPOSITORY_ARN, "an ECR repository ARN (arn:aws:ecr:<region>:<account>:...)"),
    )
    pull_accounts = r.get("image_pull_account_ids", _list_of(_account_id), ())
    hours = r.get("ci_session_hours", _int_range(1, 12), DEFAULT_SESSION_HOURS)

    for key in r.unknown_keys():
        r.problems.append(
            f"{key} is not a known setting (misspelt?); see docs/getting-started-on-aws.md"
        )
    if (image_repository is None) == (image_repository_arn is None):
        r.problems.append(
            f"set exactly one of {BNS}image_repository (this account holds the shared image "
            f"repository) and {BNS}image_repository_arn (another account's bootstrap created it)"
        )
    if image_repository_arn and pull_accounts:
        r.problems.append(
            f"{BNS}image_pull_account_ids belongs on the stack that sets {BNS}image_repository "
            "(the repository policy lives with the repository)"
        )
    if not targets and image_repository is None:
        r.problems.append(
            f"{BNS}deploy_environments is empty and this account holds no image repository: "
            "the bootstrap would create nothing but a preview role"
        )
    if r.problems:
        raise ConfigError(stack, r.problems, project_dir="platform/bootstrap")
    return BootstrapConfig(
        stack=stack,
        region=cast(str, region),
        github_repository=cast(str, repository),
        main_branch=cast(str, branch),
        release_environment=cast(str, release),
        deploy_targets=cast(tuple[DeployTarget, ...], targets),
        github_oidc_provider_arn=oidc_arn,
        state_bucket=cast(str, bucket),
        image_repository=image_repository,
        image_repository_arn=image_repository_arn,
        image_pull_account_ids=cast(tuple[str, ...], pull_accounts),
        session_hours=cast(int, hours),
    )


def _account_id(key: str, value: str) -> str:
    if not ACCOUNT_ID.match(value):
        raise ValueError(f"{key}: {value!r} is not a 12-digit AWS account id")
    return value


def load_bootstrap_config() -> BootstrapConfig:
    import pulumi

    from infra.config import raw_config_from_runtime

    return parse_bootstrap_config(raw_config_from_runtime(), pulumi.get_stack())
