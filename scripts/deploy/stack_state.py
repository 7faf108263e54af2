"""Find resources in a stack's exported state (`pulumi stack export`).

The deploy pipeline registers the new migrate task definition alone before the full update:
`pulumi up --target <urn>`. The URN depends on how the platform program names and nests the
resource, so instead of hard-coding it this finds the TaskDefinition whose `arn` the stack output
`migrate_task_definition_arn` names. No output (a brand-new stack) prints nothing: the pipeline
then runs the full update first and the migration after it.

    pulumi stack export --stack staging --file state.json
    python -m scripts.deploy.stack_state migrate-urn --state state.json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scripts.deploy.errors import DeployError, read_json
from scripts.deploy.github_actions import run_main

STACK_TYPE = "pulumi:pulumi:Stack"
TASK_DEFINITION_TYPE = "aws:ecs/taskDefinition:TaskDefinition"
MIGRATE_OUTPUT = "migrate_task_definition_arn"


def _resources(state: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    deployment = state.get("deployment")
    if not isinstance(deployment, Mapping):
        raise DeployError(
            "this is not `pulumi stack export` output (no 'deployment' object); "
            "export with `pulumi stack export --stack <stack> --file state.json`"
        )
    return list(deployment.get("resources") or [])


def stack_outputs_in_state(state: Mapping[str, Any]) -> Mapping[str, Any]:
    for resource in _resources(state):
        if resource.get("type") == STACK_TYPE:
            return resource.get("outputs") or {}
    return {}


def _family(arn: str) -> str:
    return arn.rsplit("/", 1)[-1].rpartition(":")[0]


def find_task_definition_urn(
    state: Mapping[str, Any], output_name: str = MIGRATE_OUTPUT
) -> str | None:
    """The URN of the TaskDefinition the stack output names; None when there is no such output."""
    arn = stack_outputs_in_state(state).get(output_name)
    if not arn:
        return None
    if not isinstance(arn, str):
        raise DeployError(f"stack output {output_name} is {arn!r}, not an ARN string")
    definitions = [r for r in _resources(state) if r.get("type") == TASK_DEFINITION_TYPE]
    matches = [r for r in definitions if (r.get("outputs") or {}).get("arn") == arn]
    if not matches:
        # State written by an interrupted update can lag the output by a revision: match the family.
        matches = [r for r in definitions if (r.get("outputs") or {}).get("family") == _family(arn)]
    if len(matches) != 1:
        raise DeployError(
            f"expected one {TASK_DEFINITION_TYPE} for {output_name}={arn} in the state, found "
            f"{len(matches)}; run `pulumi refresh --stack <stack>` and check the platform program"
        )
    return str(matches[0]["urn"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    migrate = commands.add_parser("migrate-urn", help="print the migrate task definition's URN")
    migrate.add_argument("--state", type=Path, required=True, help="`pulumi stack export` file")
    args = parser.parse_args(argv)

    def body() -> int:
        state = read_json(args.state, made_by="pulumi stack export")
        urn = find_task_definition_urn(state)
        print(urn or "")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
