"""python -m scripts.github_setup --repo OWNER/NAME [--bootstrap-outputs FILE ...] [--dry-run]

Writes the wiring the workflows read (docs/getting-started-on-aws.md, step 4). Each
--bootstrap-outputs file is `pulumi stack output --json` of one account's bootstrap stack;
without any, --dry-run shows the calls with named placeholders. Sending needs GITHUB_TOKEN
(a token with administration and environments write on the repository).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from scripts.deploy.errors import DeployError, read_json
from scripts.deploy.github_actions import run_main
from scripts.github_setup.github_api import API, apply, dry_run
from scripts.github_setup.wiring import build_wiring, placeholder_outputs

REPOSITORY = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.github_setup", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--repo", required=True, help="OWNER/NAME")
    parser.add_argument(
        "--bootstrap-outputs",
        type=Path,
        action="append",
        default=[],
        help="`pulumi stack output --json` of a bootstrap stack (once per AWS account)",
    )
    parser.add_argument(
        "--reviewer",
        action="append",
        default=[],
        help="required reviewer of production: user:LOGIN or team:ORG/SLUG (repeatable)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print every API call, send none")
    args = parser.parse_args(argv)

    def body() -> int:
        import re

        if not re.match(REPOSITORY, args.repo):
            raise DeployError(f"--repo {args.repo!r} is not OWNER/NAME")
        outputs = [
            read_json(path, made_by="pulumi stack output --json --stack <bootstrap stack>")
            for path in args.bootstrap_outputs
        ]
        if not outputs and not args.dry_run:
            raise DeployError("pass --bootstrap-outputs (or --dry-run to see the calls)")
        reviewers = args.reviewer or (["user:<reviewer>"] if args.dry_run else [])
        wiring = build_wiring(args.repo, outputs or placeholder_outputs(), reviewers=reviewers)
        if args.dry_run:
            dry_run(wiring)
            return 0
        token = os.environ.get("GITHUB_TOKEN")
        if not token:
            raise DeployError("GITHUB_TOKEN is not set (e.g. GITHUB_TOKEN=$(gh auth token))")
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        with httpx.Client(base_url=API, headers=headers, timeout=30) as client:
            count = apply(wiring, client)
        print(f"{args.repo}: {count} settings written")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
