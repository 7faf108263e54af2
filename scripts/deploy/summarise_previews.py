"""The `previews` check: green when the previews passed, or when the gate skipped all of them.

A required check must have a name that appears for every event. The matrix preview jobs cannot
be it: skipped by a job-level `if` (forks, Dependabot, and each event skips the other's job:
`preview` runs for pull requests, `queue-preview` in the merge queue), GitHub reports one check
named with the unexpanded matrix, never `preview (staging)`. This job runs unless the run was
cancelled, reads the results of the jobs it needs (`toJSON(needs)` in NEEDS) and decides: every
job other than `stacks` (the reader of stacks.yaml), `checks` and `gate` is a preview job.

Standard library only: it runs on the runner's own Python, without the project's setup.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from scripts.deploy.errors import DeployError
from scripts.deploy.github_actions import append_summary, run_main

# The jobs every preview needs (they run for every event and must succeed); the rest are previews.
PREREQUISITES = ("stacks", "checks", "gate")
# A preview job of the other event is skipped by its own `if`; that is not a failure.
_PASSING = frozenset({"success", "skipped"})


def verdict(needs: Mapping[str, Any]) -> str:
    """Why the previews passed; raises DeployError saying which job did not."""
    try:
        results = {job: str(needs[job]["result"]) for job in needs}
        gate_says_run = (needs["gate"].get("outputs") or {}).get("run") == "true"
        prerequisites = {job: results[job] for job in PREREQUISITES}
    except (KeyError, TypeError, AttributeError) as missing:
        raise DeployError(
            f"NEEDS lacks {missing}: the job must need {', '.join(PREREQUISITES)} and the "
            "preview jobs"
        ) from None
    previews = {job: result for job, result in results.items() if job not in prerequisites}
    if not previews:
        raise DeployError("NEEDS names no preview job: the job must need them")
    if set(prerequisites.values()) != {"success"}:
        raise DeployError(f"{', '.join(PREREQUISITES)} did not all succeed: {prerequisites}")
    if gate_says_run:
        failed = {job: result for job, result in previews.items() if result not in _PASSING}
        if failed:
            raise DeployError(f"a stack preview did not succeed ({failed}): see it")
        if "success" not in previews.values():
            # A pull request when stacks.yaml previews no stack on pull requests: nothing to run.
            if (needs["stacks"].get("outputs") or {}).get("pull_requests") == "[]":
                return "no stack is previewed on pull requests (stacks.yaml: pull_requests)"
            raise DeployError(f"the gate asked for previews but none ran: {previews}")
        return "every stack's preview passed"
    ran = {job: result for job, result in previews.items() if result != "skipped"}
    if ran:
        raise DeployError(f"the gate skipped previews but these did not skip: {ran}")
    return "previews skipped by the gate (fork, Dependabot or unwired repository)"


def main() -> int:
    def body() -> int:
        reason = verdict(json.loads(os.environ.get("NEEDS") or "{}"))
        append_summary(f"### Previews: {reason}")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
