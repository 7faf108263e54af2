"""From the load generator's records to the verdict: phases, failures, latency percentiles.

A rehearsal passes when no request failed and nothing else went wrong (a replica that needed
SIGKILL or exited non-zero, an old replica still serving after the rollout). The table is the
same whether it passes or not, so a failing run shows exactly where and what failed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.local.processes import Exit
from tools.rehearsal.orders_audit import OrdersAudit
from tools.rehearsal.settings import RehearsalTimings, RolloutSettings

Record = Sequence[Any]  # [started, duration, kind, status or error, ok, served_by]
PHASES = ("before", "during", "after")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values; 0 for none."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True)
class PhaseStats:
    name: str
    requests: int
    failed: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @classmethod
    def of(cls, name: str, records: Sequence[Record], seconds: float) -> PhaseStats:
        durations = sorted(float(r[1]) * 1000 for r in records)
        return cls(
            name=name,
            requests=len(records),
            failed=sum(1 for r in records if not r[4]),
            seconds=seconds,
            p50_ms=percentile(durations, 50),
            p95_ms=percentile(durations, 95),
            p99_ms=percentile(durations, 99),
            max_ms=durations[-1] if durations else 0.0,
        )


@dataclass(frozen=True)
class LoadReport:
    phases: list[PhaseStats]  # before, during, after, all
    failures: Counter[tuple[str, str]]  # (kind, status or error) -> count
    examples: list[tuple[float, Record]]  # the first failed requests, seconds from rollout start
    served_by: dict[str, Counter[str]]  # phase -> replica -> requests
    kinds: Counter[str]

    @property
    def total(self) -> PhaseStats:
        return self.phases[-1]


def split_phases(
    records: Iterable[Record], *, rollout_started: float, rollout_finished: float
) -> dict[str, list[Record]]:
    """Before / during / after the rollout, by each request's start time."""
    phases: dict[str, list[Record]] = {name: [] for name in PHASES}
    for record in records:
        started = float(record[0])
        if started < rollout_started:
            phases["before"].append(record)
        elif started <= rollout_finished:
            phases["during"].append(record)
        else:
            phases["after"].append(record)
    return phases


def analyse(
    records: Sequence[Record], *, rollout_started: float, rollout_finished: float
) -> LoadReport:
    ordered = sorted(records, key=lambda r: float(r[0]))
    phases = split_phases(
        ordered, rollout_started=rollout_started, rollout_finished=rollout_finished
    )
    first = float(ordered[0][0]) if ordered else rollout_started
    last = max((float(r[0]) + float(r[1]) for r in ordered), default=rollout_finished)
    spans = {
        "before": rollout_started - first,
        "during": rollout_finished - rollout_started,
        "after": last - rollout_finished,
    }
    stats = [PhaseStats.of(name, phases[name], max(spans[name], 0.0)) for name in PHASES]
    stats.append(PhaseStats.of("all", ordered, max(last - first, 0.0)))
    failed = [r for r in ordered if not r[4]]
    return LoadReport(
        phases=stats,
        failures=Counter((str(r[2]), str(r[3])) for r in failed),
        examples=[(float(r[0]) - rollout_started, r) for r in failed[:5]],
        served_by={name: Counter(str(r[5]) for r in phases[name] if r[5]) for name in PHASES},
        kinds=Counter(str(r[2]) for r in ordered),
    )


@dataclass(frozen=True)
class StepRecord:
    """One replica replaced: how long each part of the ECS sequence took (seconds)."""

    old: str
    new: str
    start_to_healthy: float  # process start until the proxy's checks passed
    drained_for: float  # in "draining" before SIGTERM (the deregistration delay)
    stopped_in: float  # SIGTERM until exit
    exit: Exit


def unclean_exits(steps: Iterable[StepRecord], *, role: str, workdir: Path | str) -> list[str]:
    """A stopped replica must exit 0 on its own after SIGTERM; anything else is a finding."""
    return [
        f"{role} {step.old} "
        f"{'needed SIGKILL' if step.exit.killed else f'exited {step.exit.code}'} after SIGTERM; "
        f"see {workdir}/{role}-{step.old}.log"
        for step in steps
        if not step.exit.clean
    ]


@dataclass
class RehearsalResult:
    target: str  # api or worker
    variant: str
    replicas: int
    settings: RolloutSettings
    timings: RehearsalTimings
    rollout_seconds: float
    steps: list[StepRecord]
    load: LoadReport
    problems: list[str] = field(default_factory=list)
    workdir: str = ""
    orders: OrdersAudit | None = None  # the worker rehearsal's exactly-once audit

    @property
    def failed_requests(self) -> int:
        return self.load.total.failed

    @property
    def passed(self) -> bool:
        return self.failed_requests == 0 and not self.problems


def format_report(result: RehearsalResult) -> str:
    lines = [
        "",
        f"Rolling update of `{result.target}`: {result.replicas} replicas, variant "
        f"'{result.variant}', stack '{result.settings.stack}' scaled ×{result.timings.factor:g}",
        f"  timings: {result.timings.describe()}",
        "",
        f"  {'phase':<8}{'requests':>10}{'failed':>8}{'req/s':>8}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'seconds':>9}",
    ]
    for phase in result.load.phases:
        lines.append(
            f"  {phase.name:<8}{phase.requests:>10,}{phase.failed:>8,}{phase.rate:>8.0f}"
            f"{phase.p50_ms:>9.1f}{phase.p95_ms:>9.1f}{phase.p99_ms:>9.1f}{phase.max_ms:>9.1f}"
            f"{phase.seconds:>9.1f}"
        )
    lines += ["", f"  rollout: {result.rollout_seconds:.1f} s"]
    for step in result.steps:
        ending = "SIGKILL" if step.exit.killed else f"exit {step.exit.code}"
        ready = (
            f"running after {step.start_to_healthy:.1f} s"
            if result.target == "worker"
            else f"healthy after {step.start_to_healthy:.1f} s, drained {step.drained_for:.1f} s"
        )
        lines.append(
            f"    {step.old} -> {step.new}: {ready}, stopped in {step.stopped_in:.1f} s ({ending})"
        )
    if any(result.load.served_by.values()):
        lines.append("  served by (requests per replica):")
        for phase_name in PHASES:
            counts = ", ".join(
                f"{name} {n:,}" for name, n in sorted(result.load.served_by[phase_name].items())
            )
            lines.append(f"    {phase_name:<7} {counts or '-'}")
    if result.orders is not None:
        lines += format_orders(result.orders)
    if result.load.failures:
        lines.append("  failed requests (kind, answer: count):")
        for (kind, outcome), count in result.load.failures.most_common():
            lines.append(f"    {kind}, {outcome}: {count:,}")
        lines.append("  first failures (t: seconds since the rollout started):")
        for offset, record in result.load.examples:
            lines.append(
                f"    t={offset:+.2f} {record[2]} -> {record[3]} after "
                f"{float(record[1]) * 1000:.0f} ms (served by {record[5] or 'no replica'})"
            )
    for problem in result.problems:
        lines.append(f"  problem: {problem}")
    lines.append("")
    if result.passed:
        orders = (
            f"; {result.orders.accepted:,} orders, none lost or doubled"
            if result.orders is not None
            else ""
        )
        lines.append(
            f"PASS: 0 failed requests of {result.load.total.requests:,} across the rollout{orders}."
        )
    else:
        lines.append(
            f"FAIL: {result.failed_requests:,} failed request(s) of "
            f"{result.load.total.requests:,}"
            + (f" and {len(result.problems)} problem(s)" if result.problems else "")
            + f". Logs: {result.workdir}"
        )
    return "\n".join(lines)


def format_orders(audit: OrdersAudit) -> list[str]:
    lines = [
        f"  orders: {audit.accepted:,} accepted, {audit.stored:,} stored, {audit.final:,} final, "
        f"{audit.lost:,} lost, {len(audit.doubled):,} doubled, "
        f"{audit.dead_lettered:,} dead-lettered",
        f"  {audit.redeliveries:,} message(s) handled after a second receive (harmless: the worker "
        f"is idempotent); {audit.late:,} order(s) late by a visibility timeout or more",
        "  order accepted -> final (ms), by when it was placed:",
    ]
    for phase in PHASES:
        values = audit.completion_ms.get(phase, [])
        lines.append(
            f"    {phase:<7} {len(values):>6,} orders  p50 {percentile(values, 50):8.0f}  "
            f"p99 {percentile(values, 99):8.0f}  max {values[-1] if values else 0:8.0f}"
        )
    processed = ", ".join(f"{name} {n:,}" for name, n in sorted(audit.processed_by.items()))
    lines.append(f"  processed by: {processed or '-'}")
    return lines
