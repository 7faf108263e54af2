"""Re-running a deploy reuses the image its first attempt pushed (immutable tags), via botocore's
Stubber, which checks each request against AWS's ECR model."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from scripts.deploy.errors import DeployError
from scripts.deploy.existing_image import REPOSITORY_URL, existing_digest

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
DIGEST = "sha256:" + "c" * 64
REQUEST = {
    "registryId": "123456789012",
    "repositoryName": "shipyard",
    "imageIds": [{"imageTag": SHA}],
}


@pytest.fixture
def ecr():
    client = boto3.client(
        "ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_a_pushed_commit_returns_its_digest(ecr):
    client, stubber = ecr
    stubber.add_response(
        "describe_images",
        {
            "imageDetails": [
                {
                    "registryId": "123456789012",
                    "repositoryName": "shipyard",
                    "imageDigest": DIGEST,
                    "imageTags": [SHA],
                }
            ]
        },
        REQUEST,
    )
    assert (
        existing_digest(client, registry_id="123456789012", repository="shipyard", tag=SHA)
        == DIGEST
    )


def test_a_new_commit_returns_none_so_the_image_is_built(ecr):
    client, stubber = ecr
    stubber.add_client_error("describe_images", "ImageNotFoundException", expected_params=REQUEST)
    assert (
        existing_digest(client, registry_id="123456789012", repository="shipyard", tag=SHA) is None
    )


def test_a_missing_repository_points_at_the_bootstrap(ecr):
    client, stubber = ecr
    stubber.add_client_error(
        "describe_images", "RepositoryNotFoundException", expected_params=REQUEST
    )
    with pytest.raises(DeployError, match="make bootstrap"):
        existing_digest(client, registry_id="123456789012", repository="shipyard", tag=SHA)


def test_the_repository_url_is_the_bootstraps_output_shape():
    match = REPOSITORY_URL.match("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/shipyard")
    assert match is not None
    assert (match["region"], match["name"]) == ("eu-west-1", "team/shipyard")
    assert REPOSITORY_URL.match("shipyard:latest") is None
