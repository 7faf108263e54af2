"""The pull request comment's cost section: a stack's monthly estimate before and after the change
and the lines that changed, from two estimate files (scripts/cost; written by `python -m
tools.plan STACK --cost-json FILE` for the base commit and for the head commit).

    ### 💰 Monthly cost · `staging`: $111.13 → $129.15 (+$18.02/month)
    +$18.02/month: services-api Fargate tasks (on-demand): 1 × 0.5 vCPU, 1 GB × 730 h → 2 × …

An estimate that is missing or unreadable costs the comment nothing but this section's numbers:
the section then says what is missing.
"""

from __future__ import annotations

from pathlib import Path

from scripts.cost.compare import Comparison, compare, money
from scripts.cost.estimate import CONVENTIONS, Estimate
from scripts.deploy.errors import DeployError, read_json

MADE_BY = "python -m tools.plan STACK --cost-json FILE"
MAX_CHANGED_LINES = 25


def load_estimate(path: Path) -> Estimate:
    document = read_json(path, made_by=MADE_BY)
    try:
        return Estimate.from_json(document)
    except (KeyError, TypeError, ValueError, ArithmeticError) as problem:
        raise DeployError(
            f"{path} is not a cost estimate ({problem!r}); write it with `{MADE_BY}`"
        ) from problem


def render_cost_block(stack: str, base: Path | None, head: Path | None) -> str:
    title = f"### 💰 Monthly cost · `{stack}`"
    if head is None:
        return ""
    try:
        after = load_estimate(head)
    except DeployError as problem:
        return f"{title} could not be estimated\n\n{problem}."
    before, why_not = None, "no estimate of the base commit was made"
    if base is not None:
        try:
            before = load_estimate(base)
        except DeployError as problem:
            why_not = str(problem)
    # A total that leaves resources out says so where it is read, not only in the footnote.
    partial = f" · {len(after.not_priced)} resource(s) not priced" if after.not_priced else ""
    if before is None:
        return (
            f"{title}: {money(after.total_usd)} a month{partial}\n\n"
            f"_Nothing to compare with: {why_not}._\n\n{_footnote(after)}"
        )
    comparison = compare(before, after)
    if not comparison.changes and not comparison.newly_not_priced:
        return (
            f"{title}: {money(after.total_usd)} a month, unchanged{partial}\n\n{_footnote(after)}"
        )
    return (
        f"{title}: {comparison.headline}{partial}\n\n{_changes(comparison)}\n\n{_footnote(after)}"
    )


def _changes(comparison: Comparison) -> str:
    lines = [change.text for change in comparison.changes[:MAX_CHANGED_LINES]]
    hidden = len(comparison.changes) - len(lines)
    body = "```diff\n" + "\n".join(lines) + "\n```"
    if hidden:
        body += f"\n_{hidden} smaller changes not shown; `make plan-diff` or the run log has all._"
    for entry in comparison.newly_not_priced:
        body += f"\n\n⚠️ Not priced now: `{entry.resource}` ({entry.type}): {entry.reason}."
    return body


def _footnote(estimate: Estimate) -> str:
    changed = [f"`{a.name}={a.value.normalize():f}`" for a in estimate.assumptions.values()
               if a.changed]  # fmt: skip
    assumed = f" (changed: {', '.join(changed)})" if changed else ""
    missing = (
        f" {len(estimate.not_priced)} resource(s) not priced (not in the total)."
        if estimate.not_priced
        else ""
    )
    return (
        f"<sub>Offline estimate at AWS list prices as recorded on {estimate.prices_date} "
        f"({estimate.region}); {CONVENTIONS}. Usage-priced lines use the stated usage "
        f"assumptions{assumed} (scripts/cost/assumptions.json).{missing}</sub>"
    )
