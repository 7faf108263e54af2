"""Image references by digest: composed from the build's outputs, tags refused."""

from __future__ import annotations

import pytest

from scripts.deploy.errors import DeployError
from scripts.deploy.image_ref import compose_image_ref, main, parse_image_ref

DIGEST = "sha256:" + "0123456789abcdef" * 4
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def test_compose_joins_registry_repository_and_digest():
    ref = compose_image_ref(registry=f"https://{ECR}/", repository="shipyard", digest=DIGEST)
    assert str(ref) == f"{ECR}/shipyard@{DIGEST}"
    assert (ref.registry, ref.repository, ref.digest) == (ECR, "shipyard", DIGEST)


@pytest.mark.parametrize(
    "ref",
    [
        f"{ECR}/shipyard@{DIGEST}",
        f"{ECR}/team/shipyard-api@{DIGEST}",
        f"localhost:5000/shipyard@{DIGEST}",
    ],
)
def test_digest_references_are_accepted(ref):
    assert str(parse_image_ref(ref)) == ref


@pytest.mark.parametrize(
    "ref",
    [
        f"{ECR}/shipyard:latest",  # a tag can be re-pushed
        f"{ECR}/shipyard:1.2@{DIGEST}",  # tag and digest: ambiguous, refused
        f"shipyard@{DIGEST}",  # no registry
        f"{ECR}/Shipyard@{DIGEST}",  # repositories are lowercase
        f"{ECR}/shipyard@sha256:abc",  # truncated digest
        "",
    ],
)
def test_anything_else_is_refused(ref):
    with pytest.raises(DeployError, match="not an image reference by digest"):
        parse_image_ref(ref)


def test_main_check_exits_1_on_a_tag(capsys):
    assert main(["check", f"{ECR}/shipyard:latest"]) == 1
    assert main(["check", f"{ECR}/shipyard@{DIGEST}"]) == 0
