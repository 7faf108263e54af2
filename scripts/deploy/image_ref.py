"""Image references by digest: `<registry>/<repository>@sha256:<64 hex>`.

A deploy names the image by digest, never by tag: the digest is the content, so staging and
production provably run the same bits, and a re-pushed tag cannot change what a stack runs.

    python -m scripts.deploy.image_ref compose --registry R --repository N --digest sha256:…
    python -m scripts.deploy.image_ref check <ref>
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from scripts.deploy.errors import DeployError
from scripts.deploy.github_actions import run_main

# Registry host (optionally with a port), then one or more lowercase path components
# (the Docker reference grammar, simplified to what ECR and other registries accept).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REGISTRY = r"[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?"
_DIGEST = r"sha256:[0-9a-f]{64}"
_REFERENCE = re.compile(
    rf"^(?P<registry>{_REGISTRY})/(?P<repository>{_COMPONENT}(?:/{_COMPONENT})*)@(?P<digest>{_DIGEST})$"
)


@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str
    digest: str

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}@{self.digest}"


def parse_image_ref(text: str) -> ImageRef:
    match = _REFERENCE.match(text.strip())
    if not match:
        raise DeployError(
            f"{text!r} is not an image reference by digest; expected "
            "<registry>/<repository>@sha256:<64 hex digits>, e.g. "
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shipyard@sha256:… "
            "(tags are refused: a tag can be re-pushed, a digest cannot)"
        )
    return ImageRef(match["registry"], match["repository"], match["digest"])


def compose_image_ref(*, registry: str, repository: str, digest: str) -> ImageRef:
    """Join what the registry login and the build report; the result is validated."""
    registry = registry.strip().removeprefix("https://").rstrip("/")
    return parse_image_ref(f"{registry}/{repository.strip().strip('/')}@{digest.strip()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    compose = commands.add_parser("compose", help="print <registry>/<repository>@<digest>")
    compose.add_argument("--registry", required=True, help="e.g. the amazon-ecr-login output")
    compose.add_argument("--repository", required=True, help="the ECR repository name")
    compose.add_argument("--digest", required=True, help="sha256:… as the image build reports")
    check = commands.add_parser("check", help="exit 1 unless the argument is a digest reference")
    check.add_argument("ref")
    args = parser.parse_args(argv)

    def body() -> int:
        if args.command == "compose":
            ref = compose_image_ref(
                registry=args.registry, repository=args.repository, digest=args.digest
            )
        else:
            ref = parse_image_ref(args.ref)
        print(ref)
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
