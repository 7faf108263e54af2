"""The offline plan priced: an `EvaluatedStack`'s resources handed to the estimator (scripts.cost).

Each resource is grouped under its building block, the top-level component it sits in
(`services`, `network`, `database` …), which is how `make plan` breaks the total down.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from scripts.cost.assumptions import load_assumptions
from scripts.cost.estimate import Estimate, PlannedResource, estimate
from scripts.cost.price_book import PRICES_DIR, load_price_book
from tools.plan.offline import EvaluatedStack


def planned_resources(stack: EvaluatedStack) -> list[PlannedResource]:
    by_urn = {r.urn: r for r in stack.resources}
    root = stack.root_urn
    planned = []
    for resource in stack.resources:
        if not resource.custom:
            continue
        block, parent = resource, resource.parent
        while parent and parent != root and parent in by_urn:
            block, parent = by_urn[parent], by_urn[parent].parent
        planned.append(
            PlannedResource(
                urn=resource.urn,
                type=resource.type,
                name=resource.name,
                component=block.name if block is not resource else "(stack)",
                inputs=resource.inputs,
                outputs=resource.state,
            )
        )
    return planned


def estimate_stack(
    stack: EvaluatedStack,
    *,
    assumptions_file: Path | None = None,
    assume: Iterable[str] = (),
    prices_dir: Path = PRICES_DIR,
) -> Estimate:
    """The stack's monthly estimate at the prices of its region (`aws:region`)."""
    return estimate(
        planned_resources(stack),
        stack=stack.stack,
        book=load_price_book(stack.config.region, prices_dir),
        assumptions=load_assumptions(assumptions_file, assume),
    )
