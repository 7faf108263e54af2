"""Docker Hub: off by default; when set, the same image also goes to Docker Hub under the commit
tag, with secret credentials, and ECR stays what ECS pulls from."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from infra.config import ConfigError, parse_stack_config
from infra.docker_hub import DOCKER_HUB_REGISTRY
from infra.registry import image_tag
from tools.plan.offline import EvaluatedStack, RecordedResource, raw_stack_config

from .conftest import STAGING_DIGEST
from .queries import DIGEST_REFERENCE, container

DOCKER_TYPES = ("docker:index/tag:Tag", "docker:index/registryImage:RegistryImage")
ON = {
    "dockerhub_repository": "acme/shipyard",
    "dockerhub_username": "acmebot",
    "dockerhub_token": "dckr_pat_0123456789abcdefghij",
}


def docker_hub_resources(stack: EvaluatedStack) -> list[RecordedResource]:
    return [r for r in stack.resources if r.type in DOCKER_TYPES]


def test_off_by_default(stack: EvaluatedStack) -> None:
    assert stack.config.dockerhub_repository is None
    assert docker_hub_resources(stack) == []
    assert stack.of_type("docker:index/remoteImage:RemoteImage") == []
    assert stack.outputs["dockerhub_image"] is None


def test_a_building_stack_pushes_its_own_build(variant: Callable[..., EvaluatedStack]) -> None:
    stack = variant("staging", **ON)
    built = stack.named("docker:index/image:Image", "registry-image")
    tag = stack.named("docker:index/tag:Tag", "dockerhub-tag")
    push = stack.named("docker:index/registryImage:RegistryImage", "dockerhub-push")

    assert tag.inputs["sourceImage"] == built.inputs["imageName"]  # the same build, no rebuild
    assert stack.of_type("docker:index/image:Image") == [built]
    assert tag.inputs["targetImage"] == f"acme/shipyard:{image_tag()}"
    assert push.inputs["name"] == tag.inputs["targetImage"]
    assert push.inputs["keepRemotely"] is True
    assert push.inputs["authConfig"] == {
        "address": DOCKER_HUB_REGISTRY,
        "username": "acmebot",
        "password": ON["dockerhub_token"],
    }
    assert stack.outputs["dockerhub_image"] == f"acme/shipyard:{image_tag()}"


def test_a_stack_deploying_a_digest_pulls_exactly_that_digest_from_ecr_and_pushes_it(
    variant: Callable[..., EvaluatedStack],
) -> None:
    stack = variant("prod", image_ref=STAGING_DIGEST, **ON)
    assert stack.of_type("docker:index/image:Image") == []  # prod builds nothing
    pulled = stack.named("docker:index/remoteImage:RemoteImage", "dockerhub-source")
    tag = stack.named("docker:index/tag:Tag", "dockerhub-tag")
    push = stack.named("docker:index/registryImage:RegistryImage", "dockerhub-push")
    assert pulled.inputs["name"] == STAGING_DIGEST
    assert pulled.inputs["platform"] == stack.config.image_platform
    assert tag.inputs["sourceImage"] == pulled.state["imageId"]
    assert push.inputs["name"] == f"acme/shipyard:{image_tag()}"
    # The pull authenticates to the ECR registry that holds the digest.
    (ecr,) = [r for r in stack.resources if r.type == "pulumi:providers:docker"]
    assert pulled.provider is not None
    assert pulled.provider.startswith(f"{ecr.urn}::")
    registry_auth = ecr.inputs["registryAuth"]
    (auth,) = json.loads(registry_auth) if isinstance(registry_auth, str) else registry_auth
    assert auth["address"] == STAGING_DIGEST.split("/", 1)[0]
    assert auth["username"] == "AWS"


@pytest.mark.parametrize("stack_name", ["staging", "prod"])
def test_ecs_still_pulls_the_ecr_digest(
    stack_name: str, variant: Callable[..., EvaluatedStack]
) -> None:
    extra = {"image_ref": STAGING_DIGEST} if stack_name == "prod" else {}
    stack = variant(stack_name, **extra, **ON)
    for role in ("api", "worker", "migrate"):
        assert re.match(DIGEST_REFERENCE, container(stack, role)["image"]), role
        assert "acme/shipyard" not in container(stack, role)["image"]


def test_the_token_is_never_an_output(variant: Callable[..., EvaluatedStack]) -> None:
    stack = variant("staging", **ON)
    assert ON["dockerhub_token"] not in json.dumps(stack.outputs, default=str)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"dockerhub_repository": "acme/shipyard"},
            "dockerhub_repository=acme/shipyard needs shipyard:dockerhub_username and "
            "shipyard:dockerhub_token",
        ),
        (
            {"dockerhub_username": "acmebot", "dockerhub_token": ON["dockerhub_token"]},
            "dockerhub_repository is not: nothing would be pushed",
        ),
        ({**ON, "dockerhub_repository": "Acme/Shipyard"}, "is not a Docker Hub repository"),
        ({**ON, "dockerhub_repository": "shipyard"}, "is not a Docker Hub repository"),
        ({**ON, "dockerhub_token": "short"}, "does not look like an access token"),
    ],
)
def test_wrong_docker_hub_settings_stop_with_a_clear_message(
    settings: dict[str, str], expected: str
) -> None:
    raw = raw_stack_config("staging", {f"shipyard:{k}": v for k, v in settings.items()})
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, "staging")
    message = str(caught.value)
    assert expected in message
    assert ON["dockerhub_token"] not in message  # secrets are never echoed
