"""What a saved Pulumi plan was made for, written beside it and checked before it is applied.

The plan job saves `pulumi preview --save-plan plan.json`, the same plan as data for the
destructive-change gate (`destructive.json`, scripts/deploy/plan_json.py) and this manifest
(stack, image, commit, and a digest of each of the two files); reviewers approve the diff shown
in that job's summary. The deploy job refuses a plan made for another stack, image or commit, or
either file changed since, then judges `destructive.json` again and `pulumi up --plan` refuses
any change the plan does not contain: what is applied, and what the gate judged, is what was
approved, or the deploy fails.

    python -m scripts.deploy.plan_manifest write --directory plan/ --stack prod \
        --image <ref> --commit <sha>
    python -m scripts.deploy.plan_manifest check ...   # the same arguments
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

MANIFEST = "manifest.json"
PLAN = "plan.json"
# Every file of the plan directory the deploy job reads, under its key in the manifest, with the
# command that makes it.
RECORDED = {
    "plan": (PLAN, "pulumi preview --save-plan"),
    "destructive": ("destructive.json", "python -m scripts.deploy.plan_json --output"),
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
            "the saved plan is not the one for this deploy ("
            + "; ".join(wrong)
            + "); re-run the whole workflow so that a new plan is made and approved"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["write", "check"])
    parser.add_argument("--directory", type=Path, required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--image", required=True)
    parser.add_argument("--commit", required=True)
    args = parser.parse_args(argv)

    def body() -> int:
        fields = {"stack": args.stack, "image": args.image, "commit": args.commit}
        if args.action == "write":
            print(json.dumps(write(args.directory, **fields)))
        else:
            check(args.directory, **fields)
            print(f"plan {args.directory / PLAN} is the one made for {fields}")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
