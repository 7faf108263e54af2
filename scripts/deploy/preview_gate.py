"""Decide whether this run may preview the stacks against AWS, and say why not when it may not.

A pull request from a fork (and one opened by Dependabot) runs without the repository's secrets
and without an OIDC token, so `pulumi preview` could only fail on credentials. Instead the preview
jobs are skipped — a grey "skipped" check with an explanation, not a red failure that teaches
people to ignore red. A repository that has not been wired yet (docs/getting-started-on-aws.md)
is told so.

Reads the GitHub event (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY) and two facts the
workflow passes without exposing any secret:
    PREVIEW_ROLE_CONFIGURED   "true" when the roles the previews assume are set: staging's
                              AWS_PREVIEW_ROLE_ARN_STAGING (pull requests) and every stack's
                              AWS_PLAN_ROLE_ARN_<STACK> (merge queue)
    BACKEND_CONFIGURED        "true" when vars.PULUMI_BACKEND_URL_<STACK> is set for each stack
Writes the step output `run` (true/false) and `reason`, and a line in the job summary.
Standard library only: it runs on the runner's own Python before any setup.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.deploy.github_actions import annotate, append_summary, set_output

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
    preview_role_configured: bool,
    backend_configured: bool,
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
    if not preview_role_configured:
        return Decision(
            False,
            "the repository variables AWS_PREVIEW_ROLE_ARN_STAGING and AWS_PLAN_ROLE_ARN_<STACK> "
            "are not all set (run "
            f"python -m scripts.github_setup); see {WIRING_DOC}",
        )
    if not backend_configured:
        return Decision(
            False,
            "the repository variables PULUMI_BACKEND_URL_<STACK> are not set (run "
            f"python -m scripts.github_setup); see {WIRING_DOC}",
        )
    return Decision(True, "same-repository run with AWS and Pulumi access configured")


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() == "true"


def main(environ: Mapping[str, str] | None = None) -> int:
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
        preview_role_configured=_flag(env, "PREVIEW_ROLE_CONFIGURED"),
        backend_configured=_flag(env, "BACKEND_CONFIGURED"),
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
