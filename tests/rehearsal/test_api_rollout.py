"""The rehearsal end to end, at a small size: the real rollout drops nothing, a broken one does.

Each run is the real thing (PostgreSQL, HAProxy, `python -m service api` replicas, the load
generator process), only smaller and with the stack's delays scaled further down. The other
broken variant (no readiness gate) is shown at the proxy level in test_haproxy.py, which is faster.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.utils.databases import skip_or_fail_without_postgres
from tools.rehearsal.api_rehearsal import ApiRehearsalPlan, rehearse_api
from tools.rehearsal.results import RehearsalResult, format_report
from tools.rehearsal.rollout import Variant
from tools.rehearsal.settings import RolloutSettings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(
        shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
        reason="haproxy not installed (bash scripts/install-system-deps.sh)",
    ),
]

SETTINGS = RolloutSettings(stack="test")


def rehearse(tmp_path: Path, *, replicas: int, variant: Variant) -> RehearsalResult:
    skip_or_fail_without_postgres()
    plan = ApiRehearsalPlan(
        replicas=replicas,
        scale=0.05,  # 10 s checks -> 0.5 s, 20 s deregistration delay -> 1 s
        min_requests=0,
        concurrency=4,
        before_seconds=1.0,
        after_seconds=1.0,
        variant=variant,
        max_seconds=240,
    )
    result = rehearse_api(SETTINGS, plan, workdir=tmp_path, log=lambda _: None)
    print(format_report(result))  # shown by pytest when the test fails
    return result


def test_rolling_update_drops_no_request(tmp_path: Path) -> None:
    result = rehearse(tmp_path, replicas=2, variant=Variant.GOOD)

    assert result.failed_requests == 0, format_report(result)
    assert result.passed, format_report(result)
    before, during, after, _ = result.load.phases
    assert before.requests > 0
    assert during.requests > 0
    assert after.requests > 0
    # Traffic really moved: the old set served before, only the new set serves after.
    assert set(result.load.served_by["before"]) == {"v1-1", "v1-2"}
    assert set(result.load.served_by["after"]) == {"v2-1", "v2-2"}
    # Each old replica was drained for the deregistration delay, then stopped cleanly.
    for step in result.steps:
        assert step.drained_for >= result.timings.deregistration_delay
        assert step.exit.clean
    # The load included every kind of request: reads, writes, logins (orders if the API has them).
    assert {"list_items", "create_item", "update_item", "login"} <= set(result.load.kinds)


def test_stopping_a_replica_without_draining_it_first_drops_requests(tmp_path: Path) -> None:
    result = rehearse(tmp_path, replicas=1, variant=Variant.NO_DRAIN)

    assert result.failed_requests > 0, format_report(result)
    assert not result.passed
    _, during, _, _ = result.load.phases
    assert during.failed == result.failed_requests  # all of them while the rollout ran
    assert "FAIL:" in format_report(result)
