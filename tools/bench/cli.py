"""`python -m tools.bench` (`make bench`): run the benchmarks, print them, write RESULTS.md."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from tools.bench.api_bench import bench_api
from tools.bench.machine import this_machine
from tools.bench.orders_bench import bench_orders
from tools.bench.outage_bench import run_drill
from tools.bench.report import BenchRun, render
from tools.bench.rollout_model import DEFAULT_TASK_START_SECONDS, estimate
from tools.bench.template import PINNED_COMMIT, UPSTREAM, TemplateError, TemplateSource
from tools.bench.wrk import WrkMissingError, wrk_path
from tools.local.databases import DatabaseError
from tools.paths import REPO_ROOT
from tools.rehearsal.settings import AWS_DEFAULTS, SettingsError, load_rollout_settings

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement (default 5)")
    parser.add_argument(
        "--concurrency", type=int, default=12, help="connections, as issue 14 (default 12)"
    )
    parser.add_argument("--orders", type=int, default=400, help="orders to push through")
    parser.add_argument("--stacks", nargs="+", default=["staging", "prod"])
    parser.add_argument(
        "--task-start", type=float, default=DEFAULT_TASK_START_SECONDS, help="model assumption"
    )
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-orders", action="store_true")
    parser.add_argument(
        "--only-api",
        action="store_true",
        help="only the API section (no orders pipeline, no outage drills; the rollout model is "
        "computed, not measured)",
    )
    template = parser.add_mutually_exclusive_group()
    template.add_argument(
        "--template-path",
        type=Path,
        metavar="DIR",
        help="a local checkout of fastapi/full-stack-fastapi-template to measure next to ours "
        f"(pinned: {PINNED_COMMIT[:12]}); for machines that reach no git host",
    )
    template.add_argument(
        "--template-git",
        metavar="URL@COMMIT",
        help=f"clone the template from URL and check out COMMIT (e.g. {UPSTREAM}@{PINNED_COMMIT})",
    )
    parser.add_argument(
        "--outages",
        type=float,
        nargs="*",
        default=[5.0, 60.0],
        metavar="SECONDS",
        help="database outage drills, one row each (default 5 60; none: skip)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="default tools/bench/RESULTS.md")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be 1..64")
    if args.only_api:
        if args.skip_api:
            parser.error("--only-api and --skip-api exclude each other")
        args.skip_orders, args.outages = True, []
    if args.template_path is not None and not args.template_path.is_dir():
        parser.error(f"--template-path {args.template_path}: no such directory")
    return args


def template_source(args: argparse.Namespace) -> TemplateSource | None:
    if args.template_path is not None:
        return TemplateSource(path=args.template_path.resolve())
    if args.template_git:
        return TemplateSource.from_git_spec(args.template_git)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    if not args.skip_api:
        try:
            wrk_path()  # before anything starts: say what to install, not fail halfway
        except WrkMissingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    def log(message: str) -> None:
        print(f"bench {time.monotonic() - started:6.1f} s  {message}", flush=True)

    run = BenchRun(machine=this_machine(), seconds=args.seconds, concurrency=args.concurrency)
    log(f"machine: {run.machine.describe()}")
    workdir = REPO_ROOT / ".local" / "bench" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")

    try:
        for stack in args.stacks:
            settings = load_rollout_settings(stack)
            defaults = replace(AWS_DEFAULTS, api_desired_count=settings.api_desired_count)
            run.rollouts.append(
                (
                    settings,
                    estimate(settings, label=f"{stack}", task_start_seconds=args.task_start),
                    estimate(
                        defaults,
                        label=f"AWS defaults, {settings.api_desired_count} task(s)",
                        task_start_seconds=args.task_start,
                    ),
                )
            )
        if not args.skip_api:
            run.api, run.client_check, run.template_commit = bench_api(
                workdir=workdir / "api",
                seconds=args.seconds,
                concurrency=args.concurrency,
                log=log,
                template=template_source(args),
                template_venvs=REPO_ROOT / ".local" / "bench",
            )
        if not args.skip_orders:
            run.orders = bench_orders(workdir=workdir / "orders", orders=args.orders, log=log)
        for seconds in args.outages:
            run.outages.append(run_drill(seconds, workdir=workdir / "outage", log=log))
    except (SettingsError, DatabaseError, TemplateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    text = render(run)
    args.out.write_text(text)
    print(text)
    log(f"written to {args.out}")
    return 0
