"""The one ECR repository every stack pulls from: the image is built once and promoted by digest.

It lives with the bootstrap, not in an app stack, so a stack's first `up` and every later one
reference the same repository, and the execution role's pull permission never changes between
the migrate-only `up --target` and the full `up`. Tags are immutable (a tag is the commit it was
built from); a repository policy lets the accounts in `image_pull_account_ids` (a prod account of
its own) pull, never push.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.bootstrap_config import BootstrapConfig
from infra.config import PROJECT
from infra.registry import LIFECYCLE_RULES

PULL_ACTIONS = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
]


@dataclass(frozen=True)
class SharedRegistryArgs:
    config: BootstrapConfig


class SharedRegistry(pulumi.ComponentResource):
    repository_arn: pulumi.Output[str]
    repository_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: SharedRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:bootstrap:SharedRegistry", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=config.image_repository,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "AES256"}],
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=json.dumps(LIFECYCLE_RULES),
            opts=child,
        )
        if config.image_pull_account_ids:
            aws.ecr.RepositoryPolicy(
                f"{name}-cross-account-pull",
                repository=repository.name,
                policy=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "PullFromOtherAccounts",
                                "Effect": "Allow",
                                "Principal": {
                                    "AWS": [
                                        f"arn:aws:iam::{account}:root"
                                        for account in config.image_pull_account_ids
                                    ]
                                },
                                "Action": PULL_ACTIONS,
                            }
                        ],
                    }
                ),
                opts=child,
            )
        self.repository_arn = repository.arn
        self.repository_url = repository.repository_url
        self.register_outputs({"repository_url": self.repository_url})
