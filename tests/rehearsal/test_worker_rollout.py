"""The worker rehearsal end to end, small: orders stream in while every worker is replaced, and
each accepted order is processed exactly once (the audit reads the database and the queues)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils.databases import skip_or_fail_without_postgres
from tools.rehearsal.results import format_report
from tools.rehearsal.settings import RolloutSettings
from tools.rehearsal.worker_rehearsal import WorkerRehearsalPlan, rehearse_worker

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.emulator]


def test_replacing_every_worker_loses_and_doubles_no_order(tmp_path: Path) -> None:
    skip_or_fail_without_postgres()
    plan = WorkerRehearsalPlan(
        replicas=2, scale=0.05, concurrency=4, rate=12, before_seconds=1.5, after_seconds=1.5
    )
    result = rehearse_worker(RolloutSettings(stack="test"), plan, workdir=tmp_path, log=print)
    report = format_report(result)
    print(report)

    audit = result.orders
    assert audit is not None
    assert result.passed, report
    assert audit.accepted > 0
    assert audit.stored == audit.accepted == audit.final
    assert audit.lost == 0
    assert audit.doubled == []
    assert audit.dead_lettered == 0
    # Orders were placed while the workers were being replaced, and both sets did work.
    assert audit.completion_ms.get("during"), report
    assert any(name.startswith("v1-") for name in audit.processed_by), report
    assert any(name.startswith("v2-") for name in audit.processed_by), report
    assert all(step.exit.clean for step in result.steps), report
