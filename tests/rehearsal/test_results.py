"""From load records to phases, percentiles, failures and the verdict."""

from __future__ import annotations

import pytest

from tools.local.processes import Exit
from tools.rehearsal.results import (
    RehearsalResult,
    StepRecord,
    analyse,
    format_report,
    percentile,
)
from tools.rehearsal.settings import RolloutSettings


def record(started: float, ms: float, status: int | str = 200, ok: bool = True, by: str = "v1-1"):
    return [started, ms / 1000, "list_items", status, ok, by]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7
    assert percentile([], 50) == 0


def test_records_are_split_by_start_time_around_the_rollout() -> None:
    records = [
        record(1.0, 10),
        record(9.9, 20),
        record(10.0, 30, by="v2-1"),
        record(15.0, 40, status="ConnectError", ok=False, by=""),
        record(20.0, 50, by="v2-1"),
        record(20.5, 60, status=503, ok=False, by=""),
    ]
    report = analyse(records, rollout_started=10.0, rollout_finished=19.0)
    before, during, after, total = report.phases
    assert (before.requests, during.requests, after.requests, total.requests) == (2, 2, 2, 6)
    assert (before.failed, during.failed, after.failed, total.failed) == (0, 1, 1, 2)
    assert before.p50_ms == pytest.approx(10)
    assert before.max_ms == pytest.approx(20)
    assert report.failures == {("list_items", "ConnectError"): 1, ("list_items", "503"): 1}
    assert report.examples[0][0] == pytest.approx(5.0)  # seconds after the rollout began
    assert report.served_by["during"] == {"v2-1": 1}
    assert during.seconds == pytest.approx(9.0)


def result_with(failed: bool, clean_exit: bool = True) -> RehearsalResult:
    records = [record(1.0, 10), record(2.0, 12, by="v2-1")]
    if failed:
        records.append(record(1.5, 1, status=503, ok=False, by=""))
    settings = RolloutSettings(stack="staging")
    exit_ = Exit(code=0 if clean_exit else -9, seconds=0.5, killed=False)
    return RehearsalResult(
        target="api",
        variant="good",
        replicas=1,
        settings=settings,
        timings=settings.scaled(0.1),
        rollout_seconds=0.5,
        steps=[StepRecord("v1-1", "v2-1", 3.0, 2.0, 0.5, exit_)],
        load=analyse(records, rollout_started=1.2, rollout_finished=1.7),
        problems=[] if clean_exit else ["v1-1 exited -9 after SIGTERM"],
    )


def test_a_clean_run_passes_and_says_so() -> None:
    result = result_with(failed=False)
    assert result.passed
    assert "PASS: 0 failed requests of 2" in format_report(result)


def test_one_failed_request_fails_the_run_and_is_listed() -> None:
    result = result_with(failed=True)
    text = format_report(result)
    assert not result.passed
    assert "FAIL: 1 failed request(s) of 3" in text
    assert "list_items, 503: 1" in text


def test_an_unclean_exit_fails_the_run_even_without_failed_requests() -> None:
    result = result_with(failed=False, clean_exit=False)
    assert not result.passed
    assert "problem: v1-1 exited -9" in format_report(result)
