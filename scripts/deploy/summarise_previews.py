"""The `previews` check: green when the previews passed, or when the gate skipped all of them.

A required check must have a name that appears for every event. The matrix job `preview` cannot
be it: skipped by its job-level `if` (forks, Dependabot), GitHub reports one check named
`preview (${{ matrix.stack }})`, never `preview (staging)`. This job always runs, reads the
results of the jobs it needs (`toJSON(needs)` in NEEDS) and decides.

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


def verdict(needs: Mapping[str, Any]) -> str:
    """Why the previews passed; raises DeployError saying which job did not."""
    try:
        results = {job: str(needs[job]["result"]) for job in ("checks", "gate", "preview")}
        gate_says_run = (needs["gate"].get("outputs") or {}).get("run") == "true"
    except (KeyError, TypeError) as missing:
        raise DeployError(
            f"NEEDS lacks {missing}: the job must need checks, gate and preview"
        ) from None
    if results["checks"] != "success" or results["gate"] != "success":
        raise DeployError(f"checks or the gate did not succeed: {results}")
    if gate_says_run:
        if results["preview"] != "success":
            raise DeployError(f"a stack preview did not succeed ({results['preview']}): see it")
        return "every stack's preview passed"
    if results["preview"] != "skipped":
        raise DeployError(f"the gate skipped previews but preview is {results['preview']}")
    return "previews skipped by the gate (fork, Dependabot or unwired repository)"


def main() -> int:
    def body() -> int:
        reason = verdict(json.loads(os.environ.get("NEEDS") or "{}"))
        append_summary(f"### Previews: {reason}")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
