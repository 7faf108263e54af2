"""The rollout-time model: waves from the deployment percentages, time per wave from settings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tools.bench.rollout_model import DRAINED_SERVER_STOP_SECONDS, estimate, tasks_per_wave
from tools.rehearsal.settings import AWS_DEFAULTS, RolloutSettings


@pytest.mark.parametrize(
    ("tasks", "minimum", "maximum", "per_wave"),
    [
        (4, 100, 200, 4),  # the platform's choice: the whole new set at once
        (4, 100, 150, 2),
        (3, 100, 125, 1),  # no room for a whole extra task: one at a time, never zero
        (4, 50, 100, 2),  # no surge, but half may stop first
        (4, 50, 200, 4),  # never more than the tasks there are
        (1, 100, 200, 1),
    ],
)
def test_tasks_replaced_per_wave_follow_ecs_percentages(
    tasks: int, minimum: int, maximum: int, per_wave: int
) -> None:
    assert tasks_per_wave(tasks, minimum_healthy_percent=minimum, maximum_percent=maximum) == (
        per_wave
    )


def test_a_wave_is_start_plus_checks_plus_drain_plus_stop() -> None:
    settings = RolloutSettings(
        stack="s",
        api_desired_count=2,
        health_check_interval_seconds=10,
        healthy_threshold=2,
        deregistration_delay_seconds=20,
        graceful_shutdown_seconds=15,
        stop_timeout_seconds=30,
        maximum_percent=150,
    )
    result = estimate(settings, label="s", task_start_seconds=20)
    assert (result.per_wave, result.waves) == (1, 2)
    assert result.wave_typical == 20 + 2 * 10 + 20 + DRAINED_SERVER_STOP_SECONDS
    assert result.total_typical == 2 * result.wave_typical
    assert result.total_worst == 2 * (20 + 20 + 20 + 15)


def test_the_worst_stop_is_capped_by_the_stop_timeout() -> None:
    settings = RolloutSettings(stack="s", graceful_shutdown_seconds=90, stop_timeout_seconds=30)
    assert estimate(settings, label="s").stop_worst == 30


def test_aws_defaults_make_a_rollout_several_times_longer_than_the_platform_defaults() -> None:
    ours = estimate(RolloutSettings(stack="staging"), label="ours")
    theirs = estimate(replace(AWS_DEFAULTS, api_desired_count=1), label="aws")
    # 300 s of deregistration delay and 5 checks of 30 s against 20 s and 2 of 10 s.
    assert theirs.drain == 300
    assert theirs.healthy == 150
    assert theirs.total_typical > 5 * ours.total_typical
