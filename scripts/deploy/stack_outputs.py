"""Read the stack outputs that `pulumi stack output --json --stack <stack>` wrote to a file.

The platform program exports (contract shared with platform/): url, cluster_name,
api_service_name, worker_service_name, image_ref, api_task_definition_arn,
worker_task_definition_arn, migrate_task_definition_arn, migrate_network {subnets,
security_groups}, queue_urls, topic_arns, web_bucket_name,
distribution_id.

    python -m scripts.deploy.stack_outputs outputs.json url    # prints one output
    python -m scripts.deploy.stack_outputs outputs.json image_ref --optional   # empty if absent

`--optional` is for an output a new stack does not have yet: the file itself must still exist
and be valid (`pulumi stack output --json` failing is never hidden).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.deploy.errors import DeployError, read_json
from scripts.deploy.github_actions import run_main


def load_stack_outputs(path: Path) -> dict[str, Any]:
    data = read_json(path, made_by=f"pulumi stack output --json --stack <stack> > {path}")
    if not isinstance(data, dict):
        raise DeployError(f"{path} must hold a JSON object of stack outputs, not {type(data)}")
    return data


def require(outputs: dict[str, Any], *names: str) -> list[Any]:
    """The named outputs, in order; a missing one is an error naming all that are missing."""
    missing = [name for name in names if outputs.get(name) in (None, "")]
    if missing:
        present = ", ".join(sorted(outputs)) or "none"
        raise DeployError(
            f"stack outputs lack {', '.join(missing)} (present: {present}); the platform program "
            "must export them (platform/__main__.py) and the stack must have been updated since"
        )
    return [outputs[name] for name in names]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the JSON written by `pulumi stack output --json`")
    parser.add_argument("name", help="the output to print (objects print as JSON)")
    parser.add_argument(
        "--optional", action="store_true", help="print nothing (exit 0) if the output is absent"
    )
    args = parser.parse_args(argv)

    def body() -> int:
        outputs = load_stack_outputs(args.file)
        if args.optional and outputs.get(args.name) in (None, ""):
            return 0
        (value,) = require(outputs, args.name)
        print(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
