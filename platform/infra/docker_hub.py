"""Docker Hub: optionally publish the service image there too (`shipyard:dockerhub_repository`).

Off unless the repository is set. ECR stays what ECS pulls from (task definitions keep the ECR
digest); Docker Hub gets a copy under the commit tag, for people and systems outside AWS.

- A stack that builds the image (staging) tags that very build and pushes it: no second build,
  so both registries hold the same layers.
- A stack that deploys an existing digest (prod, `image_ref`) builds nothing: it pulls exactly
  that digest from ECR, tags it and pushes it.

Credentials are secret config (`dockerhub_username`, `dockerhub_token`: an access token with
write access to the repository, not the account password) and stay secrets in the state.
Pushed tags are kept when the stack replaces or deletes the resource (`keep_remotely`): an image
someone may be pulling is not deleted by a deploy.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from infra.config import NS, PROJECT, StackConfig
from infra.registry import image_tag

# Docker Hub's registry host, as the Docker engine addresses it for `<namespace>/<name>` images.
DOCKER_HUB_REGISTRY = "registry-1.docker.io"


@dataclass(frozen=True)
class DockerHubMirrorArgs:
    config: StackConfig
    # The image this run built (Registry.built_image_name); None: pull config.image_ref instead.
    built_image_name: pulumi.Output[str] | None


class DockerHubMirror(pulumi.ComponentResource):
    image_name: pulumi.Output[str]  # <namespace>/<name>:<tag> on Docker Hub
    digest: pulumi.Output[str]  # sha256 of the pushed manifest

    def __init__(
        self, name: str, args: DockerHubMirrorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:registry:DockerHubMirror", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        if not (config.dockerhub_repository and config.dockerhub_username):
            raise ValueError(f"DockerHubMirror needs {NS}dockerhub_repository and credentials")
        if config.dockerhub_token is None:
            raise ValueError(f"DockerHubMirror needs {NS}dockerhub_token")

        source: pulumi.Input[str]
        if args.built_image_name is not None:
            source = args.built_image_name
        else:
            image_ref = config.image_ref
            if image_ref is None:
                raise ValueError(f"DockerHubMirror: no image built and no {NS}image_ref")
            # The digest is in ECR, not in this machine's Docker engine: pull it first.
            token = aws.ecr.get_authorization_token_output(
                registry_id=image_ref.account, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            ecr = docker.Provider(
                f"{name}-ecr",
                registry_auth=[
                    docker.ProviderRegistryAuthArgs(
                        address=image_ref.reference.split("/", 1)[0],
                        username=token.user_name,
                        password=pulumi.Output.secret(token.password),
                    )
                ],
                opts=child,
            )
            pulled = docker.RemoteImage(
                f"{name}-source",
                name=image_ref.reference,
                platform=config.image_platform,
                keep_locally=True,
                opts=pulumi.ResourceOptions(parent=self, provider=ecr),
            )
            source = pulled.image_id

        tag = docker.Tag(
            f"{name}-tag",
            source_image=source,
            target_image=f"{config.dockerhub_repository}:{image_tag()}",
            opts=child,
        )
        pushed = docker.RegistryImage(
            f"{name}-push",
            name=tag.target_image,
            keep_remotely=True,
            auth_config=docker.RegistryImageAuthConfigArgs(
                address=DOCKER_HUB_REGISTRY,
                username=pulumi.Output.secret(config.dockerhub_username),
                password=pulumi.Output.secret(config.dockerhub_token),
            ),
            # A new local image under the same tag (a rebuilt commit) is pushed again.
            triggers={"source_image_id": tag.source_image_id},
            opts=child,
        )
        self.image_name = pushed.name
        self.digest = pushed.sha256_digest
        self.register_outputs({"image_name": self.image_name, "digest": self.digest})
