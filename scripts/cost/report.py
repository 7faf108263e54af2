"""An estimate as text: `make plan` (one stack) and `make plan-diff` (two stacks)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from scripts.cost.compare import compare, money, signed_money
from scripts.cost.estimate import CONVENTIONS, Estimate

OVERRIDE_HINT = (
    "defaults in scripts/cost/assumptions.json; per run: --assume NAME=VALUE or --assumptions FILE"
)


def estimate_lines(estimate: Estimate) -> Iterator[str]:
    yield (
        f"# monthly cost of '{estimate.stack}': {money(estimate.total_usd)} "
        f"(standing {money(estimate.standing_usd)} + usage {money(estimate.usage_usd)} "
        "under the assumptions below)"
        # A partial total says so on its own line, not only in the list at the end.
        + (
            f"; {len(estimate.not_priced)} resource(s) not priced, not in it (listed below)"
            if estimate.not_priced
            else ""
        )
    )
    yield f"# prices: {estimate.prices}"
    yield f"# {CONVENTIONS}"
    yield "\n## by building block"
    totals = estimate.by_component()
    width = max((len(c) for c in totals), default=10)
    for component, total in totals.items():
        yield f"  {component:<{width}}  {money(total):>11}"
        lines = [line for line in estimate.lines if line.component == component]
        for line in sorted(lines, key=lambda x: (-x.monthly_usd, x.resource, x.item)):
            usage = " [usage]" if line.usage else ""
            note = f"  ({line.note})" if line.note else ""
            yield (
                f"    {money(line.monthly_usd):>10}  {line.resource}: {line.item}, "
                f"{line.detail}{usage}{note}"
            )
    yield f"\n## usage assumptions ({OVERRIDE_HINT})"
    for assumption in estimate.assumptions.values():
        changed = " (changed for this run)" if assumption.changed else ""
        value = f"{assumption.value.normalize():f}"
        yield f"  {assumption.name} = {value}{changed}: {assumption.meaning}"
    yield f"\n## not priced ({len(estimate.not_priced)}): not included in the total"
    for entry in estimate.not_priced:
        yield f"  {entry.component}/{entry.resource} ({entry.type}): {entry.reason}"
    yield f"\n## no charge of their own ({sum(f.count for f in estimate.free)} resources)"
    for free in estimate.free:
        yield f"  {free.count} × {free.type}: {free.reason}"


def difference_lines(left: Estimate, right: Estimate) -> Iterator[str]:
    comparison = compare(left, right)
    yield f"\n## monthly cost: {left.stack} -> {right.stack}"
    yield f"  total: {comparison.headline}"
    yield f"  prices: {right.prices}"
    a, b = left.by_component(), right.by_component()
    width = max((len(c) for c in a.keys() | b.keys()), default=10)
    for component in sorted(a.keys() | b.keys(), key=lambda c: -(b.get(c) or a.get(c) or 0)):
        before, after = a.get(component, Decimal(0)), b.get(component, Decimal(0))
        yield (
            f"  {component:<{width}}  {money(before):>11} -> {money(after):>11}"
            f"  ({signed_money(after - before)})"
        )
    yield "\n### lines that differ"
    for change in comparison.changes:
        yield f"  {change.text}"
