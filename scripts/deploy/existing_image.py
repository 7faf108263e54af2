"""The digest of this commit's image, if it was pushed already; empty otherwise.

Image tags are immutable (the tag is the commit), and a Docker build is not byte-for-byte
reproducible, so "Re-run all jobs" would fail pushing the same tag again. The image job asks
first: a digest found here is reused and the build is skipped.

    python -m scripts.deploy.existing_image --tag "$GITHUB_SHA" \
        --repository-url <account>.dkr.ecr.<region>.amazonaws.com/shipyard

Writes the step output `digest` (`sha256:...`, or empty when the tag does not exist yet).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any

from scripts.deploy.errors import DeployError
from scripts.deploy.github_actions import run_main, set_output

ECRClient = Any  # boto3's ECR client (no type stubs for ECR are installed)

REPOSITORY_URL = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
    r"/(?P<name>[a-z0-9][a-z0-9._/-]*)$"
)


def existing_digest(ecr: ECRClient, *, registry_id: str, repository: str, tag: str) -> str | None:
    try:
        found = ecr.describe_images(
            registryId=registry_id, repositoryName=repository, imageIds=[{"imageTag": tag}]
        )
    except ecr.exceptions.ImageNotFoundException:
        return None
    except ecr.exceptions.RepositoryNotFoundException as missing:
        raise DeployError(
            f"ECR repository {repository} does not exist in account {registry_id}: run the "
            "bootstrap (make bootstrap) and set IMAGE_REPOSITORY_URL from its output"
        ) from missing
    details = found.get("imageDetails") or []
    return str(details[0]["imageDigest"]) if details else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repository-url", required=True, help="the bootstrap's image_repository_url"
    )
    parser.add_argument("--tag", required=True, help="the commit the image is tagged with")
    args = parser.parse_args(argv)

    def body() -> int:
        match = REPOSITORY_URL.match(args.repository_url)
        if match is None:
            raise DeployError(
                f"--repository-url {args.repository_url!r} is not an ECR repository URL "
                "(<account>.dkr.ecr.<region>.amazonaws.com/<name>)"
            )
        import boto3  # here: --help and a wrong URL need no AWS setup

        ecr = boto3.client("ecr", region_name=match["region"])
        digest = existing_digest(
            ecr, registry_id=match["account"], repository=match["name"], tag=args.tag
        )
        print(f"{args.tag}: {'already pushed as ' + digest if digest else 'not pushed yet'}")
        set_output("digest", digest or "")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
