"""What the reviewers approved, carried from the plan job to the deploy job and checked there.

Production's deploy role is reachable only from the `production` environment, so the plan that
is applied is made inside the deploy job, after the approval, under the stack's lock. What the
reviewers see before approving is the preview the plan job made (with the plan role) of the same
commit, image and state. This manifest carries what that preview was for across the approval:
stack, image, commit, and a digest of each file of the approved directory: `destructive.json`
(the preview's steps as data, scripts/deploy/plan_json.py: operations, types, URNs and property
names, no values) and `state.json` (the state it was made from, scripts/deploy/state_identity.py).
No plan, no resource input or output leaves a job: the artifact holds nothing a reader with
artifact access could use.

The deploy job refuses a manifest made for another stack, image or commit, or files changed
since (`check`); then, once it has made its own plan (`pulumi preview --save-plan`) from the same
state, refuses a plan whose steps differ from the approved ones (`match`): what is applied is
what was shown, or nothing.

    python -m scripts.deploy.plan_manifest write --directory approved/ --stack prod \
        --image <ref> --commit <sha>
    python -m scripts.deploy.plan_manifest check ...   # the same arguments
    python -m scripts.deploy.plan_manifest match --directory approved/ --plan made.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from scripts.deploy.errors import DeployError, read_json
from scripts.deploy.github_actions import run_main
from scripts.deploy.plan_json import Plan, load_plan

MANIFEST = "manifest.json"
DESTRUCTIVE = "destructive.json"
STATE = "state.json"
# Every file of the approved directory the deploy job reads, under its key in the manifest, with
# the command that makes it.
RECORDED = {
    "destructive": (DESTRUCTIVE, "python -m scripts.deploy.plan_json --output"),
    "state": (STATE, "python -m scripts.deploy.state_identity record --output"),
}


def _digests(directory: Path) -> dict[str, str]:
    digests = {}
    for key, (name, made_by) in RECORDED.items():
        path = directory / name
        if not path.is_file():
            raise DeployError(f"{path} does not exist: `{made_by} {path}` first")
        digests[key] = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def write(directory: Path, *, stack: str, image: str, commit: str) -> dict[str, str]:
    manifest = {"stack": stack, "image": image, "commit": commit, **_digests(directory)}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def check(directory: Path, *, stack: str, image: str, commit: str) -> None:
    recorded = read_json(
        directory / MANIFEST, made_by="python -m scripts.deploy.plan_manifest write"
    )
    expected = {"stack": stack, "image": image, "commit": commit, **_digests(directory)}
    wrong = [
        f"{key}: plan made for {recorded.get(key)!r}, deploying {value!r}"
        for key, value in expected.items()
        if recorded.get(key) != value
    ]
    if wrong:
        raise DeployError(
            "the approved preview is not the one for this deploy ("
            + "; ".join(wrong)
            + "); re-run the whole workflow so that a new plan is made and approved"
        )


def _steps(plan: Plan) -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]:
    # By URN: Pulumi runs independent steps in parallel, so the event log's order may differ
    # between two previews of the same change.
    return {c.urn: (c.type, c.ops, c.replace_reasons) for c in plan.changes}


def match(approved: Plan, made: Plan) -> str:
    """A sentence when the plan made for the apply has the approved steps; DeployError if not."""
    shown, planned = _steps(approved), _steps(made)
    if shown == planned and approved.finished and made.finished:
        changing = sum(1 for c in made.changes if c.action != "same")
        return f"the plan to apply has the {changing} change(s) the reviewers were shown"
    only_planned = [urn for urn, step in planned.items() if shown.get(urn) != step]
    only_shown = [urn for urn, step in shown.items() if planned.get(urn) != step]
    if only_planned:
        first = f"{only_planned[0]} {'/'.join(planned[only_planned[0]][1])}"
    elif only_shown:
        first = f"{only_shown[0]} {'/'.join(shown[only_shown[0]][1])} (shown, not planned)"
    else:
        first = "a preview that did not finish"
    raise DeployError(
        f"the plan made for the apply differs from the approved one ({len(only_planned)} step(s) "
        f"not shown to the reviewers, {len(only_shown)} shown but not planned; first: {first}). "
        "Nothing was changed. Re-plan: re-run the whole workflow run so that the reviewers see "
        "and approve the plan that will be applied"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["write", "check", "match"])
    parser.add_argument("--directory", type=Path, required=True)
    parser.add_argument("--stack")
    parser.add_argument("--image")
    parser.add_argument("--commit")
    parser.add_argument("--plan", type=Path, help="match: the plan made for the apply, as data")
    args = parser.parse_args(argv)

    def body() -> int:
        if args.action == "match":
            if args.plan is None:
                raise DeployError("match needs --plan <the sanitised plan made for the apply>")
            approved = load_plan(args.directory / DESTRUCTIVE)
            print(match(approved, load_plan(args.plan)))
            return 0
        if not (args.stack and args.image and args.commit):
            raise DeployError(f"{args.action} needs --stack, --image and --commit")
        fields = {"stack": args.stack, "image": args.image, "commit": args.commit}
        if args.action == "write":
            print(json.dumps(write(args.directory, **fields)))
        else:
            check(args.directory, **fields)
            print(f"the approved preview in {args.directory} is the one made for {fields}")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
