"""Registry and image: the one service image, addressed by digest, in the bootstrap's shared ECR
repository (`shipyard:image_repository`; `infra/shared_registry.py` creates it).

Either the stack takes an existing digest (`shipyard:image_ref`: what CI always does), builds
nothing, and deploys exactly that image, or (a local `pulumi up`) it builds `Dockerfile` at the
repository root and pushes it to the shared repository. Task definitions only ever see
`<repository>@sha256:<digest>`: a tag can be moved, a digest cannot, and a new digest is what
makes ECS roll out a new revision.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from infra.config import NS, PROJECT, StackConfig

# platform/infra/registry.py -> the repository root, whatever the working directory.
from infra.paths import REPO_ROOT

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
    # ARNs of the repositories task executions may pull from: the shared one, whatever the image.
    pull_repository_arns: list[pulumi.Input[str]]
    # `<repository url>:<tag>` of the image this run built (it is in the local Docker engine
    # afterwards); None when the stack deploys an existing digest.
    built_image_name: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:registry:Registry", name, None, opts)
        config = args.config
        shared = config.image_repository
        if shared is None:
            raise ValueError(f"{NS}image_repository is required (infra.config checks it)")
        # The repository belongs to the bootstrap, not to this stack: the pull grant below is the
        # same on every deploy, so a migrate-only `up --target` never needs the execution role
        # changed first (the first-deploy failure of a stack-owned repository).
        self.repository_url = pulumi.Output.from_input(shared.url)
        self.repository_arn = pulumi.Output.from_input(shared.arn)
        self.pull_repository_arns = [shared.arn]

        if config.image_ref is not None:
            self.image_ref = pulumi.Output.from_input(config.image_ref.reference)
            self.built = False
            self.built_image_name = None
        else:
            # A local `pulumi up` by an administrator; CI always passes the digest it pushed.
            token = aws.ecr.get_authorization_token_output(
                registry_id=shared.account, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            image = docker.Image(
                f"{name}-image",
                image_name=f"{shared.url}:{image_tag()}",
                build=docker.DockerBuildArgs(
                    context=str(REPO_ROOT),
                    dockerfile=str(REPO_ROOT / "Dockerfile"),
                    platform=config.image_platform,
                ),
                registry=docker.RegistryArgs(
                    server=shared.url.split("/", 1)[0],
                    username=token.user_name,
                    password=pulumi.Output.secret(token.password),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            # repo_digest is "<repository>@sha256:<digest>": exactly what the task definition needs.
            self.image_ref = image.repo_digest
            self.built = True
            self.built_image_name = image.image_name

        self.register_outputs({"repository_url": self.repository_url, "image_ref": self.image_ref})
