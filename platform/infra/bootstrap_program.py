"""The bootstrap, once per AWS account (what `cdk bootstrap` is for the CDK); returns its outputs.

State backend with its key and one secrets key per app stack, the shared image repository (in the
account that holds it), and the CI identities (infra/deploy_identity.py says who may do what).
`platform/bootstrap/__main__.py` calls `build` and exports what it returns;
`python -m scripts.github_setup` turns these outputs into the repository's variables.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from infra.bootstrap_config import BootstrapConfig
from infra.deploy_identity import DeployIdentity, DeployIdentityArgs, StateBackendArns
from infra.shared_registry import SharedRegistry, SharedRegistryArgs
from infra.state_backend import StateBackend, StateBackendArgs

# Output names are a contract: scripts/github_setup reads them, the guide names them.
OUTPUT_NAMES = (
    "account_id",
    "region",
    "state_backend_url",
    # the bootstrap stack's own secrets provider (the state key)
    "bootstrap_secrets_provider",
    # app stack -> its `secretsprovider:` (awskms://alias/shipyard-pulumi-secrets-<stack>)
    "secrets_providers",
    # the pull_request role, and the stacks it may preview (None / [] if none is deployed here)
    "preview_role_arn",
    "preview_stacks",
    # the merge queue's and main's read-only role (every stack of this account)
    "plan_role_arn",
    "image_push_role_arn",
    "image_repository_arn",
    "image_repository_url",
    "deploy_targets",
    "workload_boundary_arn",
)


def repository_url_of(arn: str) -> str:
    """`arn:aws:ecr:<region>:<account>:repository/<name>` -> `<account>.dkr.ecr.<region>...`."""
    _, _, _, region, account, resource = arn.split(":", 5)
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{resource.removeprefix('repository/')}"


def build(config: BootstrapConfig) -> dict[str, Any]:
    account_id = aws.get_caller_identity_output().account_id
    backend = StateBackend("state", StateBackendArgs(config=config))

    repository_arn: pulumi.Input[str] | None = None
    repository_url: pulumi.Input[str]
    if config.image_repository is not None:
        registry = SharedRegistry("images", SharedRegistryArgs(config=config))
        repository_arn, repository_url = registry.repository_arn, registry.repository_url
    else:
        repository_url = repository_url_of(str(config.image_repository_arn))

    identity = DeployIdentity(
        "ci",
        DeployIdentityArgs(
            config=config,
            account_id=account_id,
            state=StateBackendArns(
                bucket_arn=backend.bucket_arn,
                state_key_arn=backend.key_arn,
                secrets_key_arns=backend.secrets_key_arns,
            ),
            image_repository_arn=repository_arn,
        ),
    )
    backend.set_bucket_policy("state", *identity.state_bucket_statements)
    return {
        "account_id": account_id,
        "region": config.region,
        "state_backend_url": backend.backend_url,
        "bootstrap_secrets_provider": backend.bootstrap_secrets_provider,
        "secrets_providers": backend.secrets_providers,
        "preview_role_arn": identity.preview_role_arn,
        "preview_stacks": [t.stack for t in config.preview_targets],
        "plan_role_arn": identity.plan_role_arn,
        "image_push_role_arn": identity.image_push_role_arn,
        "image_repository_arn": repository_arn or config.image_repository_arn,
        "image_repository_url": repository_url,
        # GitHub environment -> the app stack it deploys and the role its deploy job assumes.
        "deploy_targets": {
            target.environment: {
                "stack": target.stack,
                "deploy_role_arn": identity.deploy_role_arns[target.environment],
            }
            for target in config.deploy_targets
        },
        "workload_boundary_arn": identity.workload_boundary_arn,
    }
