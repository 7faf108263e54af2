"""`python -m tools.rehearsal`: run the rehearsals, print their tables, exit 1 if anything failed.

python -m tools.rehearsal                    api, then worker (what `make rehearse` runs)
python -m tools.rehearsal --target api --broken no-drain
python -m tools.rehearsal --target worker --broken kill
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.local.databases import DatabaseError
from tools.paths import REPO_ROOT
from tools.rehearsal.api_rehearsal import ApiRehearsalPlan, rehearse_api
from tools.rehearsal.haproxy import HAProxyError
from tools.rehearsal.load_process import LoadError
from tools.rehearsal.replicas import RolloutError
from tools.rehearsal.results import RehearsalResult, format_report
from tools.rehearsal.rollout import Variant
from tools.rehearsal.settings import RolloutSettings, SettingsError, load_rollout_settings
from tools.rehearsal.worker_rehearsal import WorkerRehearsalPlan, WorkerVariant, rehearse_worker

EXIT_PASSED, EXIT_FAILED, EXIT_CANNOT_RUN = 0, 1, 2
BROKEN = {
    "api": [v.value for v in Variant if v is not Variant.GOOD],
    "worker": [v.value for v in WorkerVariant if v is not WorkerVariant.GOOD],
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.rehearsal",
        description="Rehearse zero-downtime ECS rolling updates of the api (behind HAProxy, "
        "driven like the ALB) and of the order worker, under continuous load.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--target", choices=["all", "api", "worker"], default="all")
    parser.add_argument("--stack", default="staging", help="whose Pulumi.<stack>.yaml to follow")
    parser.add_argument("--replicas", type=int, default=3, help="replicas (default 3)")
    parser.add_argument(
        "--scale",
        type=float,
        default=0.1,
        help="multiply the stack's delays by this (default 0.1: a 20 s deregistration delay "
        "takes 2 s); thresholds are kept, caps have floors",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=10_000,
        help="api: send at least this many requests (default 10,000)",
    )
    parser.add_argument("--concurrency", type=int, help="simulated users (api 8, worker 6)")
    parser.add_argument("--before", type=float, default=3.0, help="seconds of load before")
    parser.add_argument("--after", type=float, default=3.0, help="seconds of load after (min)")
    parser.add_argument(
        "--broken",
        help="drop one safeguard on purpose (api: "
        + ", ".join(BROKEN["api"])
        + "; worker: "
        + ", ".join(BROKEN["worker"])
        + "); needs --target",
    )
    parser.add_argument("--workdir", type=Path, help="logs and records (default .local/rehearsal)")
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 8:
        parser.error("--replicas must be 1..8 (two cores carry all of them)")
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    if args.broken and args.target == "all":
        parser.error("--broken needs --target api or --target worker")
    if args.broken and args.broken not in BROKEN[args.target]:
        parser.error(f"--broken for {args.target}: one of {', '.join(BROKEN[args.target])}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = args.workdir or REPO_ROOT / ".local" / "rehearsal" / stamp

    def log(message: str) -> None:
        print(f"rehearsal {time.monotonic() - started:6.1f} s  {message}", flush=True)

    try:
        settings = load_rollout_settings(args.stack)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    read = ", ".join(sorted(settings.sources.values())) or "none (no stack file; defaults)"
    log(f"stack '{args.stack}': keys read: {read}")

    runs: list[tuple[str, Callable[[Path], RehearsalResult]]] = []
    if args.target in ("all", "api"):
        runs.append(("api", lambda workdir: _api(settings, args, workdir, log)))
    if args.target in ("all", "worker"):
        runs.append(("worker", lambda workdir: _worker(settings, args, workdir, log)))

    outcome = EXIT_PASSED
    for name, run in runs:
        workdir = base / f"{name}-{args.broken or 'good'}"
        try:
            result = run(workdir)
        except (HAProxyError, DatabaseError) as exc:
            print(f"error: cannot run the {name} rehearsal: {exc}", file=sys.stderr)
            return EXIT_CANNOT_RUN
        except (RolloutError, LoadError) as exc:
            print(f"FAIL: the {name} rollout stopped: {exc}\nLogs: {workdir}", file=sys.stderr)
            outcome = EXIT_FAILED
            continue
        print(format_report(result), flush=True)
        if args.broken:
            print(broken_verdict(args.broken, result))
        if not result.passed:
            outcome = EXIT_FAILED
    return outcome


def _shape(args: argparse.Namespace) -> dict[str, Any]:
    """The options both rehearsals take the same way (tools/rehearsal/plan.py)."""
    return {
        "replicas": args.replicas,
        "scale": args.scale,
        "before_seconds": args.before,
        "after_seconds": args.after,
    }


def _api(
    settings: RolloutSettings, args: argparse.Namespace, workdir: Path, log: Callable[[str], None]
) -> RehearsalResult:
    plan = ApiRehearsalPlan(
        **_shape(args),
        min_requests=args.requests,
        concurrency=args.concurrency or ApiRehearsalPlan.concurrency,
        variant=Variant(args.broken) if args.broken else Variant.GOOD,
    )
    return rehearse_api(settings, plan, workdir=workdir, log=log)


def _worker(
    settings: RolloutSettings, args: argparse.Namespace, workdir: Path, log: Callable[[str], None]
) -> RehearsalResult:
    plan = WorkerRehearsalPlan(
        **_shape(args),
        concurrency=args.concurrency or WorkerRehearsalPlan.concurrency,
        variant=WorkerVariant(args.broken) if args.broken else WorkerVariant.GOOD,
    )
    return rehearse_worker(settings, plan, workdir=workdir, log=log)


def broken_verdict(variant: str, result: RehearsalResult) -> str:
    """What a deliberately broken run showed: the cost of the safeguard it dropped."""
    if result.orders is not None:  # worker: at-least-once delivery turns a crash into delay
        return (
            f"(variant '{variant}': {result.orders.late:,} order(s) late by a visibility timeout "
            f"or more, {result.orders.lost:,} lost, {len(result.orders.doubled):,} doubled)"
        )
    seen = "saw" if result.failed_requests else "did NOT see"
    return (
        f"(variant '{variant}' drops a safeguard on purpose: the rehearsal {seen} failed requests)"
    )
