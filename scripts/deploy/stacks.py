"""The app stacks, read from `stacks.yaml`: the one list the workflows derive their matrices from.

Each workflow's first job runs `python3 -m scripts.deploy.stacks matrices >> "$GITHUB_OUTPUT"`
on the runner's own Python, before any set-up (a set-up costs a `make install` per workflow):
standard library only (tests/delivery/test_runner_python.py), so no YAML parser. That is why
each entry of `stacks.yaml` is one JSON object on one line (JSON is YAML, so the file stays valid
YAML and keeps its comments; tests check this reader against a YAML parser), and why the stack's
region is read from `Pulumi.<stack>.yaml` by the one line Pulumi writes for it (`  aws:region:`
under `config:`; `pulumi config set` rewrites the file in that form).

Outputs (each a JSON list of rows for `fromJSON` in a matrix):
    all            every stack, in promotion order (merge-queue previews, drift)
    pull_requests  the stacks pull requests preview (with their preview role)
    first, second  wave 1, then wave 2 (deploy.yml: wave 2 only after all of wave 1 succeeded)
    selected       with --stack: that one stack (rollback.yml's dispatch input, checked here)
A row: {"stack", "environment", "region", "key" (the suffix of its repository variables,
`AWS_PLAN_ROLE_ARN_<key>`, `PULUMI_BACKEND_URL_<key>`), "smoke"}.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from scripts.deploy.errors import DeployError

DECLARATION = "stacks.yaml"
WAVES = (1, 2)
SMOKE_MODES = ("full", "read-only")
# deploy.yml's image job; its role trusts only this environment, so no stack may use it.
RESERVED_ENVIRONMENTS = ("release",)
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_ENTRY = re.compile(r"^  - (?P<json>\{.*\})\s*$")
_REGION = re.compile(r"^  aws:region:\s*[\"']?(?P<region>[a-z0-9-]+)[\"']?\s*(?:#.*)?$", re.M)
_FIELDS = {"stack", "environment", "wave", "smoke", "pull_requests"}
# The repository root: this file is scripts/deploy/stacks.py.
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Stack:
    stack: str
    environment: str
    wave: int
    smoke: str
    pull_requests: bool
    region: str

    @property
    def key(self) -> str:
        return stack_key(self.stack)

    def row(self) -> dict[str, str]:
        return {
            "stack": self.stack,
            "environment": self.environment,
            "region": self.region,
            "key": self.key,
            "smoke": self.smoke,
        }


def stack_key(stack: str) -> str:
    """`staging` -> `STAGING`: the suffix of a stack's repository variables."""
    return stack.upper().replace("-", "_")


def stack_region(root: Path, stack: str) -> str:
    """The stack's `aws:region`, from its stack file (the region Pulumi deploys it to)."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise DeployError(
            f"{DECLARATION} names stack {stack!r} but {path.name} does not exist: create it "
            f"(`pulumi stack init {stack}`, then its settings) or remove the line"
        )
    found = _REGION.findall(path.read_text(encoding="utf-8"))
    if len(found) != 1:
        raise DeployError(
            f"{path.name} must set its region once, as the line `  aws:region: <region>` under "
            f"`config:` (found {len(found)}); the workflows assume the stack's roles there"
        )
    return str(found[0])


def _entry(line_number: int, text: str) -> dict[str, object]:
    where = f"{DECLARATION}, line {line_number}"
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DeployError(f"{where}: not one JSON object ({exc.msg})") from exc
    if not isinstance(entry, dict) or set(entry) != _FIELDS:
        got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise DeployError(f"{where}: an entry has exactly the keys {sorted(_FIELDS)} (got {got})")
    problems = []
    for field in ("stack", "environment"):
        if not isinstance(entry[field], str) or not _NAME.match(entry[field]):
            problems.append(f"{field} {entry[field]!r} is not a lower-case name (a-z, 0-9, -)")
    if entry["wave"] not in WAVES or isinstance(entry["wave"], bool):
        problems.append(f"wave {entry['wave']!r} is not one of {list(WAVES)}")
    if entry["smoke"] not in SMOKE_MODES:
        problems.append(f"smoke {entry['smoke']!r} is not one of {list(SMOKE_MODES)}")
    if not isinstance(entry["pull_requests"], bool):
        problems.append(f"pull_requests {entry['pull_requests']!r} is not true or false")
    if entry["environment"] in RESERVED_ENVIRONMENTS:
        problems.append(f"environment {entry['environment']!r} is the image job's own")
    if problems:
        raise DeployError(f"{where}: " + "; ".join(problems))
    return entry


def read_stacks(root: Path = REPO_ROOT) -> list[Stack]:
    """The declared stacks in promotion order, each with its region; every fault named."""
    path = root / DECLARATION
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise DeployError(f"{path} does not exist: it lists the app stacks") from exc
    stacks: list[Stack] = []
    in_list = False
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.rstrip() == "stacks:":
            in_list = True
            continue
        match = _ENTRY.match(line)
        if not in_list or match is None:
            raise DeployError(
                f"{DECLARATION}, line {number}: expected `stacks:` and then one line per stack, "
                '`  - {"stack": ..., "environment": ..., "wave": 1, "smoke": "full", '
                '"pull_requests": false}`'
            )
        entry = _entry(number, match["json"])
        stacks.append(
            Stack(
                stack=str(entry["stack"]),
                environment=str(entry["environment"]),
                wave=int(str(entry["wave"])),
                smoke=str(entry["smoke"]),
                pull_requests=bool(entry["pull_requests"]),
                region=stack_region(root, str(entry["stack"])),
            )
        )
    _check_the_list(stacks)
    return stacks


def _check_the_list(stacks: list[Stack]) -> None:
    if not stacks:
        raise DeployError(f"{DECLARATION} lists no stack: add one line per app stack")
    for field in ("stack", "environment"):
        values = [getattr(s, field) for s in stacks]
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise DeployError(f"{DECLARATION}: {field} {twice} appears more than once")
    keys = [s.key for s in stacks]
    if len(set(keys)) != len(keys):
        raise DeployError(f"{DECLARATION}: two stacks share a variable suffix ({keys})")
    if not any(s.wave == 1 for s in stacks):
        raise DeployError(f"{DECLARATION}: no stack in wave 1, so nothing would ever deploy")


def find_stack(stacks: list[Stack], name: str) -> Stack:
    for stack in stacks:
        if stack.stack == name:
            return stack
    raise DeployError(f"unknown stack {name!r}: {DECLARATION} declares {[s.stack for s in stacks]}")


def matrices(root: Path = REPO_ROOT, *, stack: str | None = None) -> dict[str, str]:
    """The workflows' matrices, as `$GITHUB_OUTPUT` values (compact JSON lists of rows)."""
    stacks = read_stacks(root)

    def rows(chosen: list[Stack]) -> str:
        return json.dumps([s.row() for s in chosen], separators=(",", ":"))

    outputs = {
        "all": rows(stacks),
        "pull_requests": rows([s for s in stacks if s.pull_requests]),
        "first": rows([s for s in stacks if s.wave == 1]),
        "second": rows([s for s in stacks if s.wave == 2]),
    }
    if stack is not None:
        outputs["selected"] = rows([find_stack(stacks, stack)])
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.deploy.stacks",
        description=f"The app stacks of {DECLARATION}, as the workflows' matrices.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    read = commands.add_parser("matrices", help="print name=JSON lines for $GITHUB_OUTPUT")
    read.add_argument("--stack", help="also `selected`: this stack, refused if not declared")
    read.add_argument("--root", type=Path, default=REPO_ROOT, help="the repository root")
    args = parser.parse_args(argv)
    try:
        outputs = matrices(args.root, stack=args.stack)
    except DeployError as exc:
        print(f"::error::{exc}", file=sys.stderr)
        return 1
    for name, value in outputs.items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
