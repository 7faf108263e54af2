"""python -m scripts.github_setup --repo OWNER/NAME [--bootstrap-outputs FILE ...] [--dry-run]

With --repo alone: reads the repository (owner, visibility, plan, OIDC subject) and prints what
its plan allows and the `sub` prefix for the bootstrap setting
`shipyard-bootstrap:github_sub_claim_prefix`. With --bootstrap-outputs (`pulumi stack output
--json` of each account's bootstrap stack): writes the wiring the workflows read
(docs/getting-started-on-aws.md, step 4), only what the repository's plan accepts, and prints
what protection is missing and what stands in for it. --dry-run prints every call and sends
none (without GITHUB_TOKEN it shows every feature's calls with named placeholders).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from scripts.deploy.errors import DeployError, read_json
from scripts.deploy.github_actions import run_main
from scripts.github_setup.github_api import (
    Gap,
    GitHub,
    api_url,
    apply,
    dry_run,
    plan_calls,
    reviewer_lookups,
)
from scripts.github_setup.repository import Repository, describe, read_repository
from scripts.github_setup.wiring import MAIN_BRANCH, build_wiring, placeholder_outputs

REPOSITORY = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$"
PERMISSIONS_HELP = """\
GITHUB_TOKEN: a token for the repository (GITHUB_API_URL points at another API, e.g. GitHub
Enterprise Server). A fine-grained token needs these repository permissions:
  Administration: read and write   Actions permissions, environments, deployment branches, rulesets
  Environments: read and write     environment variables (the deploy and image-push roles)
  Variables: read and write        repository variables (preview/plan roles, state backends)
  Actions: read                    the OIDC subject template and prefix
  Issues: read and write           the allow-destructive:<stack> labels
  Contents, Metadata: read         the repository itself (owner, visibility, default branch)
and, for team:ORG/SLUG reviewers and an organisation's plan, the organisation permission
  Members: read
A classic token needs `repo` (and `read:org` for team reviewers and the organisation's plan)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.github_setup",
        description=(__doc__ or "").split("\n\n", 1)[1],
        epilog=PERMISSIONS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    return run_main(lambda: _run(args))


def _client(token: str) -> httpx.Client:
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    return httpx.Client(base_url=api_url(), headers=headers, timeout=30)


def _run(args: argparse.Namespace) -> int:
    if not re.match(REPOSITORY, args.repo):
        raise DeployError(f"--repo {args.repo!r} is not OWNER/NAME")
    outputs = [
        read_json(path, made_by="pulumi stack output --json --stack <bootstrap stack>")
        for path in args.bootstrap_outputs
    ]
    token = os.environ.get("GITHUB_TOKEN")
    if args.dry_run and not token:
        reviewers = args.reviewer or ["user:<reviewer>"]
        dry_run(build_wiring(args.repo, outputs or placeholder_outputs(), reviewers=reviewers))
        return 0
    if not token:
        raise DeployError("GITHUB_TOKEN is not set (e.g. GITHUB_TOKEN=$(gh auth token))")
    with _client(token) as client:
        github = GitHub(client)
        repository = read_repository(github.get, args.repo)
        for line in describe(repository):
            print(line)
        if not outputs and not args.dry_run:
            return 1 if repository.subject_problem else 0
        return _wire(args, outputs, repository, github)


def _wire(
    args: argparse.Namespace, outputs: list[Any], repository: Repository, github: GitHub
) -> int:
    if repository.subject_problem:
        raise DeployError(f"nothing written: {repository.subject_problem}")
    features = repository.features
    reviewers = args.reviewer or (["user:<reviewer>"] if args.dry_run else [])
    wiring = build_wiring(
        repository.full_name,
        outputs or placeholder_outputs(),
        reviewers=reviewers,
        reviewers_possible=features.environment_reviewers,
    )
    if args.dry_run:
        dry_run(wiring, repository)
        return 0
    # Every read that can refuse happens before the first write.
    ids: dict[str, int | str] = {}
    if features.environments and features.environment_reviewers:
        for spec, lookup in reviewer_lookups(wiring):
            found = github.get(lookup.path)
            if found is None:
                raise DeployError(f"nothing written: reviewer {spec} does not exist on GitHub")
            ids[spec] = int(found["id"])
    plan = plan_calls(wiring, features, ids)
    if repository.default_branch != MAIN_BRANCH:
        plan.gaps.append(
            Gap(
                f"protection of the default branch {repository.default_branch}: the rulesets and "
                f"deployment branches name {MAIN_BRANCH}, which the workflows deploy from",
                f"nothing: scheduled runs (drift) use the default branch; rename it to "
                f"{MAIN_BRANCH} or make {MAIN_BRANCH} the default",
                loud=True,
            )
        )
    for line in plan.report():
        print(line)
    outcome = apply(plan, github)
    print(
        f"{repository.full_name}: {outcome.written} settings written, {outcome.unchanged} "
        f"already there, {len(outcome.failed)} failed"
    )
    if outcome.failed or plan.refused:
        print("!! the wiring is incomplete: see the FAILED and NOT WIRED lines above")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
