"""Read the stack outputs that `pulumi stack output --json --stack <stack>` wrote to a file.

The platform program exports (contract shared with platform/infra/program.py's OUTPUT_NAMES):
url, cluster_name, image_ref, queue_urls, topic_arns, web_bucket_name, distribution_id,
log_group_names, functions, dockerhub_image, and `services`: every service services.yaml
declares, by its name there:

    services: {<name>: {kind, task_definition_arn, log_group_name, service_name, schedule_name,
                        network: {subnets, security_groups}, ...}}

`kind` is web, worker, task or scheduled (others may come: a reader acts on the kinds it knows
and ignores the rest; entries may gain keys). `service_name` is the ECS service of a web or
worker service, null otherwise; `network` is what `aws ecs run-task` needs to run its task
definition. The deploy scripts address services through this output only, never by a name:
run_migration.py runs every `task`, verify_rollout.py verifies every `web` and `worker`.

    python -m scripts.deploy.stack_outputs outputs.json url    # prints one output
    python -m scripts.deploy.stack_outputs outputs.json image_ref --optional   # empty if absent

`--optional` is for an output a new stack does not have yet: the file itself must still exist
and be valid (`pulumi stack output --json` failing is never hidden).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class DeployedService:
    """One entry of the `services` output, as the deploy scripts use it."""

    name: str
    kind: str
    task_definition_arn: str
    service_name: str | None
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    launch_type: str | None = None


def deployed_services(outputs: Mapping[str, Any]) -> list[DeployedService] | None:
    """The `services` output's entries (in the output's order), or None if the stack has none.

    None is for the caller to judge: it means the stack was last updated by a version of the
    program from before the output existed (or never), which each script handles its own way.
    """
    services = outputs.get("services")
    if services is None:
        return None
    if not isinstance(services, Mapping):
        raise DeployError(
            f"stack output services must be an object by service name, not {services!r}"
        )
    found = []
    for name, entry in services.items():
        if not isinstance(entry, Mapping) or not entry.get("kind"):
            raise DeployError(
                f"stack output services.{name} must be an object with a kind, not {entry!r}"
            )
        network = entry.get("network") or {}
        if not isinstance(network, Mapping):
            raise DeployError(
                f"stack output services.{name}.network must be {{subnets: [...], "
                f"security_groups: [...]}}, not {network!r}"
            )
        found.append(
            DeployedService(
                name=str(name),
                kind=str(entry["kind"]),
                task_definition_arn=str(entry.get("task_definition_arn") or ""),
                service_name=str(entry["service_name"]) if entry.get("service_name") else None,
                subnets=tuple(network.get("subnets") or ()),
                security_groups=tuple(network.get("security_groups") or ()),
                launch_type=network.get("launch_type"),
            )
        )
    return found


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
