"""Registry and image: the ECR repository and the one service image, addressed by digest.

Either the stack builds `Dockerfile` at the repository root and pushes it (staging), or it takes
an existing digest (`shipyard:image_ref`), builds nothing, and deploys exactly that image (prod
deploys the image staging ran). Task definitions only ever see `<repository>@sha256:<digest>`: a tag
can be moved, a digest cannot, and a new digest is what makes ECS roll out a new revision.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from infra.config import StackConfig

# platform/infra/registry.py -> the repository root, whatever the working directory.
REPO_ROOT = Path(__file__).resolve().parents[2]

LIFECYCLE_RULES = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "drop untagged layers left by failed or superseded pushes",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 7,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "keep the last 100 images: enough to roll back weeks of deploys",
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": 100,
            },
            "action": {"type": "expire"},
        },
    ]
}


def image_tag() -> str:
    """The tag the built image is pushed under: the commit, so that an immutable tag names it.

    CI sets GITHUB_SHA; a local run asks git. The digest, not this tag, is what gets deployed.
    """
    sha = os.environ.get("GITHUB_SHA")
    if not sha:
        try:
            sha = subprocess.run(
                ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH is the point
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            sha = "unversioned"
    return sha[:12]


@dataclass(frozen=True)
class RegistryArgs:
    config: StackConfig


class Registry(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    image_ref: pulumi.Output[str]
    # ARNs of the repositories task executions may pull from (the built one, or image_ref's).
    pull_repository_arns: list[pulumi.Input[str]]

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("shipyard:registry:Registry", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=config.prefix,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "AES256"}],
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=json.dumps(LIFECYCLE_RULES),
            opts=child,
        )

        if config.image_ref is not None:
            self.image_ref = pulumi.Output.from_input(config.image_ref.reference)
            self.pull_repository_arns = [config.image_ref.repository_arn]
            self.built = False
        else:
            token = aws.ecr.get_authorization_token_output(
                registry_id=repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            image = docker.Image(
                f"{name}-image",
                image_name=repository.repository_url.apply(lambda url: f"{url}:{image_tag()}"),
                build=docker.DockerBuildArgs(
                    context=str(REPO_ROOT),
                    dockerfile=str(REPO_ROOT / "Dockerfile"),
                    platform=config.image_platform,
                ),
                registry=docker.RegistryArgs(
                    server=repository.repository_url,
                    username=token.user_name,
                    password=pulumi.Output.secret(token.password),
                ),
                opts=child,
            )
            # repo_digest is "<repository>@sha256:<digest>": exactly what the task definition needs.
            self.image_ref = image.repo_digest
            self.pull_repository_arns = [repository.arn]
            self.built = True

        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
        self.register_outputs({"repository_url": self.repository_url, "image_ref": self.image_ref})
