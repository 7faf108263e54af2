"""`python -m rehearsal`: run a rehearsal, print its table, exit 1 if anything failed."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rehearsal.api_rehearsal import ApiRehearsalPlan, rehearse_api
from rehearsal.database import DatabaseError
from rehearsal.haproxy import HAProxyError
from rehearsal.load_process import LoadError
from rehearsal.results import format_report
from rehearsal.rollout import RolloutError, Variant
from rehearsal.settings import ROOT, SettingsError, load_rollout_settings

EXIT_PASSED, EXIT_FAILED, EXIT_CANNOT_RUN = 0, 1, 2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rehearsal",
        description="Rehearse a zero-downtime ECS rolling update of the api behind HAProxy.",
    )
    parser.add_argument("--stack", default="staging", help="whose Pulumi.<stack>.yaml to follow")
    parser.add_argument("--replicas", type=int, default=3, help="api replicas (default 3)")
    parser.add_argument(
        "--scale",
        type=float,
        default=0.1,
        help="multiply the stack's delays by this (default 0.1: a 20 s deregistration delay "
        "takes 2 s); thresholds are kept, caps have floors",
    )
    parser.add_argument(
        "--requests", type=int, default=10_000, help="send at least this many (default 10,000)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="simulated users (default 8)")
    parser.add_argument("--before", type=float, default=3.0, help="seconds of load before")
    parser.add_argument("--after", type=float, default=3.0, help="seconds of load after (min)")
    parser.add_argument(
        "--broken",
        choices=[v.value for v in Variant if v is not Variant.GOOD],
        help="drop one safeguard; the rehearsal must then report failed requests",
    )
    parser.add_argument(
        "--workdir", type=Path, help="logs and records (default: .local/rehearsal/<time>-…)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 8:
        parser.error("--replicas must be 1..8 (two cores carry all of them)")
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    variant = Variant(args.broken) if args.broken else Variant.GOOD
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = args.workdir or ROOT / ".local" / "rehearsal" / f"{stamp}-api-{variant}"
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"rehearsal {time.monotonic() - started:6.1f} s  {message}", flush=True)

    try:
        settings = load_rollout_settings(args.stack)
        read = ", ".join(sorted(settings.sources.values())) or "none (no stack file; defaults)"
        log(f"stack '{args.stack}': keys read: {read}")
        result = rehearse_api(
            settings,
            ApiRehearsalPlan(
                replicas=args.replicas,
                scale=args.scale,
                min_requests=args.requests,
                concurrency=args.concurrency,
                before_seconds=args.before,
                after_seconds=args.after,
                variant=variant,
            ),
            workdir=workdir,
            log=log,
        )
    except (SettingsError, HAProxyError, DatabaseError) as exc:
        print(f"error: cannot run the rehearsal: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except (RolloutError, LoadError) as exc:
        print(f"FAIL: the rollout stopped: {exc}\nLogs: {workdir}", file=sys.stderr)
        return EXIT_FAILED
    print(format_report(result))
    if variant is not Variant.GOOD:
        seen = "saw" if result.failed_requests else "did NOT see"
        print(f"(variant '{variant}' drops a safeguard on purpose: the rehearsal {seen} its cost)")
    return EXIT_PASSED if result.passed else EXIT_FAILED
