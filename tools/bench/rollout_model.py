"""How long an ECS rolling update of the `api` takes, computed from a stack's settings.

Per wave of new tasks (the same sequence the rehearsal runs, at full scale):
    start       the task launches and the server listens (an assumption: image pull + cold start)
    healthy     the target passes `healthy_threshold` checks, one per `interval`; the first check
                comes up to one interval after registration, so between (threshold - 1) and
                threshold intervals: the model takes the upper bound
    drain       the deregistration delay, in full (ECS waits it out before SIGTERM)
    stop        a drained server exits at once (about a second); at worst it uses its whole
                graceful-shutdown window, which the platform keeps below stopTimeout

How many waves: ECS may run `maximum_percent` of the desired count during a deployment and must
keep `minimum_healthy_percent` healthy, so each wave replaces
    floor(desired x (max% - 100) / 100) + floor(desired x (100 - min%) / 100) tasks (at least 1).
With 100 % / 200 % the whole set is replaced in one wave.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tools.rehearsal.settings import RolloutSettings

# Fargate pulls the image and starts Python in roughly this long for a slim image (assumption,
# the same for every column so that the comparison is about the settings).
DEFAULT_TASK_START_SECONDS = 20.0
DRAINED_SERVER_STOP_SECONDS = 1.0


@dataclass(frozen=True)
class RolloutEstimate:
    label: str
    tasks: int
    per_wave: int
    waves: int
    start: float
    healthy: float
    drain: float
    stop_typical: float
    stop_worst: float

    @property
    def wave_typical(self) -> float:
        return self.start + self.healthy + self.drain + self.stop_typical

    @property
    def total_typical(self) -> float:
        return self.waves * self.wave_typical

    @property
    def total_worst(self) -> float:
        return self.waves * (self.start + self.healthy + self.drain + self.stop_worst)


def tasks_per_wave(tasks: int, *, minimum_healthy_percent: int, maximum_percent: int) -> int:
    surge = math.floor(tasks * max(maximum_percent - 100, 0) / 100)
    may_stop_first = math.floor(tasks * max(100 - minimum_healthy_percent, 0) / 100)
    return max(1, min(tasks, surge + may_stop_first))


def estimate(
    settings: RolloutSettings,
    *,
    label: str,
    tasks: int | None = None,
    task_start_seconds: float = DEFAULT_TASK_START_SECONDS,
) -> RolloutEstimate:
    count = tasks if tasks is not None else settings.api_desired_count
    per_wave = tasks_per_wave(
        count,
        minimum_healthy_percent=settings.minimum_healthy_percent,
        maximum_percent=settings.maximum_percent,
    )
    return RolloutEstimate(
        label=label,
        tasks=count,
        per_wave=per_wave,
        waves=math.ceil(count / per_wave),
        start=task_start_seconds,
        healthy=settings.healthy_threshold * settings.health_check_interval_seconds,
        drain=settings.deregistration_delay_seconds,
        stop_typical=DRAINED_SERVER_STOP_SECONDS,
        stop_worst=min(settings.graceful_shutdown_seconds, settings.stop_timeout_seconds),
    )
