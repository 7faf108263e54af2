"""Decide whether this run may preview the stacks against AWS, and say why not when it may not.

A pull request from a fork (and one opened by Dependabot) runs without the repository's secrets
and without an OIDC token, so `pulumi preview` could only fail on credentials. Instead the preview
jobs are skipped — a grey "skipped" check with an explanation, not a red failure that teaches
people to ignore red. A repository that has not been wired yet (docs/getting-started-on-aws.md)
is told so.

Reads the GitHub event (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY) and
REPOSITORY_VARIABLES, the workflow's `toJSON(vars)`. Which variables the previews need is derived
from stacks.yaml (scripts/deploy/stacks.py, the list the workflows' matrices come from), so a
stack added there is required here with no edit of the workflow:
    AWS_PREVIEW_ROLE_ARN_<KEY>   each `pull_requests: true` stack (pull-request previews)
    AWS_PLAN_ROLE_ARN_<KEY>      every stack (merge-queue previews)
    PULUMI_BACKEND_URL_<KEY>     every stack
Repository variables are configuration, not secrets (GitHub shows them to every collaborator
with write access); still, only their names are used here: which are set, and which are missing
in the reason. Secrets never reach this step.
Writes the step output `run` (true/false) and `reason`, and a line in the job summary.
Standard library only: it runs on the runner's own Python before any setup.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.deploy.github_actions import annotate, append_summary, set_output
from scripts.deploy.stacks import REPO_ROOT, Stack, read_stacks

DEPENDABOT = "dependabot[bot]"
WIRING_DOC = "docs/getting-started-on-aws.md"


@dataclass(frozen=True)
class Decision:
    run: bool
    reason: str


def decide(
    *,
    event_name: str,
    event: Mapping[str, Any],
    repository: str,
    actor: str,
    missing_variables: Sequence[str],
) -> Decision:
    if event_name in ("pull_request", "pull_request_target"):
        pull = event.get("pull_request") or {}
        head_repo = (pull.get("head") or {}).get("repo") or {}
        # A deleted fork leaves head.repo null: no secrets either way.
        head_name = head_repo.get("full_name")
        if head_name != repository:
            return Decision(
                False,
                f"pull request from {head_name or 'a deleted fork'}: GitHub gives workflows from "
                "forks no secrets and no OIDC token, so the stacks cannot be previewed here; a "
                "maintainer can push the branch to this repository to get a preview",
            )
        author = (pull.get("user") or {}).get("login")
        if DEPENDABOT in (actor, author):
            return Decision(
                False,
                "Dependabot pull requests run without the repository's secrets and OIDC; the "
                "stacks are previewed again by the merge queue and on main",
            )
    if missing_variables:
        return Decision(
            False,
            f"the repository variables {', '.join(missing_variables)} are not set (the stacks "
            "of stacks.yaml need them; run python -m scripts.github_setup); see "
            f"{WIRING_DOC}",
        )
    return Decision(True, "same-repository run with AWS and Pulumi access configured")


def required_variables(stacks: Sequence[Stack]) -> list[str]:
    """The repository variables the preview jobs of pull-request.yml read for these stacks."""
    names = []
    for stack in stacks:
        if stack.pull_requests:
            names.append(f"AWS_PREVIEW_ROLE_ARN_{stack.key}")
        names += [f"AWS_PLAN_ROLE_ARN_{stack.key}", f"PULUMI_BACKEND_URL_{stack.key}"]
    return names


def missing_variables(environ: Mapping[str, str], stacks: Sequence[Stack]) -> list[str]:
    """The required variables REPOSITORY_VARIABLES (a JSON object) lacks or holds empty."""
    try:
        variables = json.loads(environ.get("REPOSITORY_VARIABLES") or "{}")
    except json.JSONDecodeError:
        variables = {}  # nothing usable was passed: every variable counts as missing
    if not isinstance(variables, dict):
        variables = {}
    return [name for name in required_variables(stacks) if not str(variables.get(name) or "")]


def main(environ: Mapping[str, str] | None = None, root: Path = REPO_ROOT) -> int:
    env = os.environ if environ is None else environ
    event_path = env.get("GITHUB_EVENT_PATH")
    event: dict[str, Any] = {}
    if event_path and Path(event_path).is_file():
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    decision = decide(
        event_name=env.get("GITHUB_EVENT_NAME", ""),
        event=event,
        repository=env.get("GITHUB_REPOSITORY", ""),
        actor=env.get("GITHUB_ACTOR", ""),
        missing_variables=missing_variables(env, read_stacks(root)),
    )
    set_output("run", "true" if decision.run else "false")
    set_output("reason", decision.reason)
    if decision.run:
        append_summary(f"Stack previews will run: {decision.reason}.")
    else:
        annotate("notice", decision.reason, title="Pulumi preview skipped")
        append_summary(f"### Pulumi preview skipped\n\n{decision.reason}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
