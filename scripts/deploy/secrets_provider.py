"""Before any Pulumi command: the stack file names its secrets provider and carries its data key.

`pulumi stack init --secrets-provider awskms://...` writes two top-level keys into
`Pulumi.<stack>.yaml`: `secretsprovider:` (the KMS key) and `encryptedkey:` (the stack's data key,
encrypted with it). Until both are committed, every Pulumi command in CI falls back to the
passphrase provider and stops non-interactively with Pulumi's own, unhelpful message. This check
runs first and says which step of the guide writes them.

    python -m scripts.deploy.secrets_provider --stack prod
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from scripts.deploy.errors import DeployError
from scripts.deploy.github_actions import run_main

GUIDE = "docs/getting-started-on-aws.md"
GUIDE_STEP = "## 3. Create the app stacks"
PROVIDER_SCHEME = "awskms://"


def stack_file(stack: str, root: Path) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def _how_to_fix(stack: str) -> str:
    return (
        f"{GUIDE}, step {GUIDE_STEP.removeprefix('## ')!r}, writes them: run "
        f'`pulumi stack init {stack} --secrets-provider "$SECRETS_PROVIDER"` (or `pulumi stack '
        f'change-secrets-provider --stack {stack} "$SECRETS_PROVIDER"` for an existing stack), '
        f"then commit the `secretsprovider:` and `encryptedkey:` lines it adds to "
        f"Pulumi.{stack}.yaml"
    )


def check(stack: str, root: Path) -> str:
    """A sentence naming the provider; DeployError saying what is missing and how to add it."""
    path = stack_file(stack, root)
    try:
        loaded: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployError(f"{path.name} does not exist. {_how_to_fix(stack)}") from None
    except yaml.YAMLError as exc:
        raise DeployError(f"{path.name} is not valid YAML ({exc})") from exc
    settings: Mapping[str, Any] = loaded if isinstance(loaded, Mapping) else {}
    provider = str(settings.get("secretsprovider") or "").strip()
    encrypted_key = str(settings.get("encryptedkey") or "").strip()
    missing = [
        key
        for key, value in (("secretsprovider", provider), ("encryptedkey", encrypted_key))
        if not value
    ]
    if missing:
        keys = " and ".join(f"`{key}:`" for key in missing)
        raise DeployError(
            f"{path.name} has no {keys}, so Pulumi would fall back to a passphrase and fail "
            f"in CI. {_how_to_fix(stack)}"
        )
    if not provider.startswith(PROVIDER_SCHEME):
        raise DeployError(
            f"{path.name} names the secrets provider {provider!r}; CI can decrypt only the "
            f"stack's AWS KMS key ({PROVIDER_SCHEME}alias/...). {_how_to_fix(stack)}"
        )
    return f"{path.name}: secrets provider {provider}, data key present"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument(
        "--directory", type=Path, default=Path(), help="where Pulumi.yaml is (default: here)"
    )
    args = parser.parse_args(argv)

    def body() -> int:
        print(check(args.stack, args.directory))
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
