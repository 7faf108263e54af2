"""Two estimates side by side (a pull request's base and head; staging and prod): the totals and
each line whose cost or quantity changed, e.g. `+$36.04/month: services-api Fargate tasks
(on-demand): 2 × 1 vCPU, 2 GB × 730 h → 3 × 1 vCPU, 2 GB × 730 h`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from scripts.cost.estimate import CostLine, Estimate, NotPriced

CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    cents = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"-${-cents:,.2f}" if cents < 0 else f"${cents:,.2f}"


def signed_money(value: Decimal) -> str:
    shown = money(value)
    return shown if shown.startswith("-") else f"+{shown}"


@dataclass(frozen=True)
class LineChange:
    before: CostLine | None
    after: CostLine | None

    @property
    def delta(self) -> Decimal:
        old = self.before.monthly_usd if self.before else Decimal(0)
        new = self.after.monthly_usd if self.after else Decimal(0)
        return new - old

    @property
    def line(self) -> CostLine:
        """The line as it is now, or as it was if removed (a change has at least one side)."""
        line = self.after or self.before
        assert line is not None
        return line

    @property
    def text(self) -> str:
        line = self.line
        what = f"{line.resource} {line.item}"
        if self.before is None:
            change = f"{self.after.detail if self.after else ''} (new)"
        elif self.after is None:
            change = f"{self.before.detail} (removed)"
        elif self.before.detail != self.after.detail:
            change = f"{self.before.detail} → {self.after.detail}"
        else:
            change = f"{self.after.detail} (price changed)"
        usage = " [usage, assumed]" if line.usage else ""
        return f"{signed_money(self.delta)}/month: {what}: {change}{usage}"


@dataclass(frozen=True)
class Comparison:
    before: Estimate
    after: Estimate
    changes: list[LineChange]
    newly_not_priced: list[NotPriced]
    no_longer_not_priced: list[NotPriced]

    @property
    def delta(self) -> Decimal:
        return self.after.total_usd - self.before.total_usd

    @property
    def headline(self) -> str:
        return (
            f"{money(self.before.total_usd)} → {money(self.after.total_usd)} "
            f"({signed_money(self.delta)}/month)"
        )


def compare(before: Estimate, after: Estimate) -> Comparison:
    old = {line.key: line for line in before.lines}
    new = {line.key: line for line in after.lines}
    changes = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a is None or b is None or a.monthly_usd != b.monthly_usd or a.detail != b.detail:
            changes.append(LineChange(a, b))
    # The largest change first: that is what a reviewer needs to see.
    changes.sort(key=lambda c: (-abs(c.delta), c.line.key))

    def keyed(entries: list[NotPriced]) -> dict[tuple[str, str, str], NotPriced]:
        return {(e.component, e.resource, e.reason): e for e in entries}

    was, now = keyed(before.not_priced), keyed(after.not_priced)
    return Comparison(
        before=before,
        after=after,
        changes=changes,
        newly_not_priced=[now[k] for k in sorted(now.keys() - was.keys())],
        no_longer_not_priced=[was[k] for k in sorted(was.keys() - now.keys())],
    )
