"""tools/bench/RESULTS.md carries the machine, each ratio with its verdict, the rollout model."""

from __future__ import annotations

from dataclasses import replace

from tools.bench.api_bench import ClientCheck, Comparison, Target
from tools.bench.http_load import LoadResult
from tools.bench.machine import Machine, this_machine
from tools.bench.orders_bench import OrdersResult
from tools.bench.report import BenchRun, render
from tools.bench.rollout_model import estimate
from tools.rehearsal.settings import AWS_DEFAULTS, RolloutSettings


def load(name: str, requests: int, p99: float = 3.0, cpu: float = 0.0) -> LoadResult:
    return LoadResult(name, requests, 0, 10.0, 2.0, p99, client_cpu_seconds=cpu)


def test_results_name_the_machine_and_judge_each_ratio_against_its_target() -> None:
    machine = Machine("Test CPU 9000", 2, "3.11.9", "Linux 6", "2026-01-01 00:00 UTC", "0.1")
    staging = RolloutSettings(stack="staging", sources={"stop_timeout_seconds": "shipyard:x"})
    run = BenchRun(
        machine=machine,
        seconds=10,
        concurrency=8,
        api=[
            Comparison(
                load("item list", 700, p99=9.0),
                load("bare JSON route", 1000),
                load("reference", 800, p99=5.0),
                Target(0.8, 2.0),
            ),
            # Fast enough, but its p99 is 2.4 × the reference's: the latency rule alone fails it.
            Comparison(
                load("current user", 700, p99=12.0),
                load("bare JSON route", 1000),
                load("reference", 800, p99=5.0),
                Target(0.8, 2.0),
            ),
            Comparison(
                load("item create", 500),
                load("bare JSON route", 1000),
                load("reference", 1000),
                Target(0.6),
            ),
            Comparison(load("logins", 10), load("bare JSON route", 1000)),
        ],
        client_check=ClientCheck(
            wrk=load("bare, wrk", 20_000, cpu=1.0), python=load("bare, Python", 10_000, cpu=8.0)
        ),
        orders=OrdersResult(
            orders=400,
            customers=10,
            accept_rate=90.0,
            pipeline_rate=40.0,
            relay_rate=45.0,
            completion_p50_ms=900.0,
            completion_p99_ms=1500.0,
            raw_rate=100.0,
            raw_publish_rate=80.0,
        ),
        rollouts=[
            (
                staging,
                estimate(staging, label="staging"),
                estimate(replace(AWS_DEFAULTS, api_desired_count=1), label="AWS defaults"),
            )
        ],
    )
    text = render(run)
    assert "Test CPU 9000, 2 cores" in text
    assert "Python 3.11.9" in text
    assert "2026-01-01 00:00 UTC" in text
    assert "| item list | 70 |" in text
    assert (
        "| 0.70 | 0.80 | **0.88** | 1.80 | 0.00 / 0.00 | ≥ 0.8 × ref, p99 ≤ 2 × ref: met |" in text
    )
    assert "**0.88** | 2.40 | 0.00 / 0.00 | ≥ 0.8 × ref, p99 ≤ 2 × ref: **not met** |" in text
    assert "**0.50** | 1.00 | 0.00 / 0.00 | ≥ 0.6 × ref: **not met** |" in text
    assert "| 0.01 | – | – | – | 0.00 / – | – |" in text  # no reference, no target, no verdict
    assert "wrk reached **2,000 req/s** using 10% of one core" in text
    assert "wrk costs 50 µs of CPU per request, the Python client 800 µs" in text
    assert "**0.40** (≥ 0.7: **not met**)" in text
    # The publish side of the pipeline's ceiling: 40 completed against 80 raw publishes.
    assert "one publisher | **80.0/s**" in text
    assert "completed / raw publish | **0.50**" in text
    assert "| staging | 1 | 1 | 1 |" in text
    assert "AWS defaults" in text
    assert "shipyard:x" in text


def test_this_machine_is_described() -> None:
    machine = this_machine()
    assert machine.cores >= 1
    assert machine.python.startswith("3.")
    assert machine.cpu_model


def test_each_outage_drill_is_a_row_and_a_failed_drill_says_so(tmp_path) -> None:
    from tools.bench.outage_bench import OutageResult
    from tools.paths import REPO_ROOT

    figures = {
        "outage_seconds": 61.2,
        "requests": 2009,
        "ok": 213,
        "unavailable": 1796,
        "dropped": 0,
        "other_5xx": 0,
        "other_4xx": 0,
        "ready_after_seconds": 1.4,
        "first_ok_after_seconds": 1.6,
        "orders_accepted": 27,
        "orders_completed_once": 27,
        "dead_lettered": 0,
    }
    failed_log = REPO_ROOT / ".local" / "bench" / "outage-5s.log"
    run = BenchRun(machine=this_machine(), seconds=1, concurrency=1)
    run.outages = [
        OutageResult(60, figures, tmp_path / "x.log", 140.0),
        OutageResult(5, None, failed_log, 30.0),
    ]
    text = render(run)
    assert "## Database outage under traffic" in text
    row = next(line for line in text.splitlines() if line.startswith("| 61.2 s |"))
    assert "| 2,009 | 213 | 1,796 | **0** | **0** |" in row
    assert "| 27 | 27 | **0** | passed (140 s) |" in row
    failed = next(line for line in text.splitlines() if line.startswith("| 5 s |"))
    assert "**failed** (log: `.local/bench/outage-5s.log`)" in failed
