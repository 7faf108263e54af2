"""Which state a plan was made against, recorded when it is made and compared before it is applied.

A plan (`pulumi preview --save-plan`) is a diff from one state. If the stack's state moves on
before the plan is applied (another deploy, a rollback, someone's `pulumi up` by hand), the plan
describes changes from a state that no longer exists; `pulumi up --plan` may then apply part of it
before it notices. So the identity of the state is recorded beside the plan and compared again,
before anything changes; a mismatch stops the deploy and says to re-plan.

The identity is a digest of the stack's last checkpoint, the `DeploymentV3` document Pulumi keeps
(`sdk/go/common/apitype/core.go`). The DIY backend stores it as `checkpoint.latest` in
`.pulumi/stacks/<project>/<stack>.json`, and `pulumi stack export` prints that stored document as
it is (`diyBackend.ExportDeployment` marshals `chk.Latest`, `pkg/backend/diy/backend.go`) as
`{"version": 3, "deployment": ...}`, `null` for a stack never deployed; both forms are read, so
the recorded identity can be checked against either. Every update rewrites it (its
`manifest.time` at least), and secrets stay ciphertext in it. Only the digest, the checkpoint's
time and its resource count are recorded: nothing of the state itself.

    pulumi stack export --stack prod > export.json
    python -m scripts.deploy.state_identity record --state export.json --output plan/state.json
    ... later, before `pulumi up --plan`:
    pulumi stack export --stack prod > export.json
    python -m scripts.deploy.state_identity check --state export.json --recorded plan/state.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scripts.deploy.errors import DeployError, read_json
from scripts.deploy.github_actions import run_main

EXPORT_COMMAND = "pulumi stack export --stack STACK"
NO_CHECKPOINT = "no checkpoint (the stack was never deployed)"


@dataclass(frozen=True)
class StateIdentity:
    digest: str  # sha256 of the checkpoint in canonical JSON
    saved_at: str  # the checkpoint's manifest.time, for people reading the message
    resources: int

    def describe(self) -> str:
        if self.saved_at == NO_CHECKPOINT:
            return NO_CHECKPOINT
        return f"checkpoint of {self.saved_at}, {self.resources} resources, {self.digest[:19]}"


def _deployment(document: Any) -> Mapping[str, Any] | None:
    """The `DeploymentV3` inside an export or a DIY checkpoint file; None for an empty stack."""
    if not isinstance(document, Mapping):
        raise DeployError(f"a stack's state must be the JSON object `{EXPORT_COMMAND}` prints")
    if "deployment" in document:
        deployment = document["deployment"]
    elif "checkpoint" in document:
        deployment = (document["checkpoint"] or {}).get("latest")
    else:
        raise DeployError(
            "the state has neither `deployment` (pulumi stack export) nor `checkpoint` (the DIY "
            f"backend's .pulumi/stacks/<project>/<stack>.json); write it with `{EXPORT_COMMAND}`"
        )
    if deployment is None or deployment == {}:
        return None
    if not isinstance(deployment, Mapping):
        raise DeployError("the state's deployment is not a JSON object")
    return deployment


def identity_of(document: Any) -> StateIdentity:
    deployment = _deployment(document)
    if deployment is None:
        return StateIdentity(digest="sha256:" + "0" * 64, saved_at=NO_CHECKPOINT, resources=0)
    canonical = json.dumps(deployment, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return StateIdentity(
        digest="sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        saved_at=str((deployment.get("manifest") or {}).get("time") or "unknown time"),
        resources=len(deployment.get("resources") or []),
    )


def check_unchanged(recorded: StateIdentity, current: StateIdentity) -> str:
    """A sentence when the state is the one the plan was made from; DeployError otherwise."""
    if recorded.digest != current.digest:
        raise DeployError(
            "the stack's state changed since this plan was made (planned against the "
            f"{recorded.describe()}; now the {current.describe()}): another update ran in "
            "between, so the plan no longer describes what `pulumi up` would do. Nothing was "
            "changed. Re-plan: re-run the whole workflow run (a new plan is made and shown, "
            "then approved again)"
        )
    return f"the state is still the one the plan was made from ({current.describe()})"


def _read_identity(path: Path) -> StateIdentity:
    data = read_json(path, made_by="python -m scripts.deploy.state_identity record")
    try:
        return StateIdentity(
            digest=str(data["digest"]),
            saved_at=str(data["saved_at"]),
            resources=int(data["resources"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DeployError(
            f"{path} is not a recorded state identity ({exc}); write it with "
            "`python -m scripts.deploy.state_identity record`"
        ) from exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["record", "check"])
    parser.add_argument(
        "--state", type=Path, required=True, help=f"`{EXPORT_COMMAND}` output, or the DIY file"
    )
    parser.add_argument("--output", type=Path, help="record: where to write the identity")
    parser.add_argument("--recorded", type=Path, help="check: the identity recorded with the plan")
    args = parser.parse_args(argv)

    def body() -> int:
        current = identity_of(read_json(args.state, made_by=EXPORT_COMMAND))
        if args.action == "record":
            if args.output is None:
                raise DeployError("record needs --output <file>")
            args.output.write_text(json.dumps(asdict(current), indent=2) + "\n", "utf-8")
            print(f"plan base: {current.describe()}")
            return 0
        if args.recorded is None:
            raise DeployError("check needs --recorded <the file `record` wrote>")
        print(check_unchanged(_read_identity(args.recorded), current))
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
