"""What makes ECS replace an api task, computed on the evaluated stack (docs/health-checks.md).

ECS replaces a task whose target-group check fails UNHEALTHY_THRESHOLD times in a row (after the
service's grace period). Whether a check fails during a database outage is not assumed: the path
the target group checks is requested from the service's own app with its database unreachable.
Then, from the evaluated target group's numbers:

- a 120 s database fail-over must not make any task unhealthy (the checked path does not depend
  on the database, so no check fails however long it lasts), and
- a wedged process (no answer: every check times out) must be replaced within a bound computed
  from interval, timeout, threshold and grace period.

CONTROL: the same arithmetic on a copy of the target group pointed at `/readyz` says every task
would be replaced during the fail-over.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.core.config import Settings
from tests.platform_program.queries import container
from tools.local.processes import free_port
from tools.plan.offline import EvaluatedStack

DATABASE_FAILOVER_SECONDS = 120  # RDS Multi-AZ fail-over: 60-120 s (AWS's documentation)
# A wedged process must be out of rotation and replaced within a minute of going silent.
MAX_WEDGED_SECONDS = 60
# A task that wedges while starting: ECS ignores its checks for the grace period first.
MAX_WEDGED_AT_START_SECONDS = 120


@dataclass(frozen=True)
class TargetGroupCheck:
    path: str
    interval: int
    timeout: int
    healthy_threshold: int
    unhealthy_threshold: int

    @classmethod
    def of(cls, inputs: Mapping[str, Any]) -> TargetGroupCheck:
        check = inputs["healthCheck"]
        assert check["enabled"] is True
        assert check["matcher"] == "200"
        return cls(
            path=check["path"],
            interval=check["interval"],
            timeout=check["timeout"],
            healthy_threshold=check["healthyThreshold"],
            unhealthy_threshold=check["unhealthyThreshold"],
        )


def most_failed_checks_during(check: TargetGroupCheck, outage: int, fails_in_outage: bool) -> int:
    """Consecutive failed checks an outage of `outage` seconds can cause at most."""
    return math.ceil(outage / check.interval) + 1 if fails_in_outage else 0


def fewest_failed_checks_during(check: TargetGroupCheck, outage: int, fails_in_outage: bool) -> int:
    return outage // check.interval if fails_in_outage else 0


def replaced_during_outage(check: TargetGroupCheck, answers_in_outage: Mapping[str, int]) -> bool:
    """Does a running task (past its grace period) cross the threshold in a fail-over?"""
    fails = answers_in_outage[check.path] != 200
    worst = most_failed_checks_during(check, DATABASE_FAILOVER_SECONDS, fails)
    best = fewest_failed_checks_during(check, DATABASE_FAILOVER_SECONDS, fails)
    if worst < check.unhealthy_threshold:
        return False
    assert best >= check.unhealthy_threshold, "undecided: the numbers sit on the threshold"
    return True


def seconds_until_a_wedged_task_is_unhealthy(check: TargetGroupCheck) -> int:
    """Worst case: it wedges just after a passing check; the next UNHEALTHY_THRESHOLD checks come
    one interval apart and each fails only when its timeout runs out."""
    assert check.timeout < check.interval, "AWS requires the timeout below the interval"
    return check.unhealthy_threshold * check.interval + check.timeout


@pytest.fixture(scope="module")
def answers_with_database_down() -> Iterator[dict[str, int]]:
    """Status of each health path from the service itself, its PostgreSQL refusing connections."""
    settings = Settings(
        environment="local",
        database_url=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none",
        relay_enabled=False,
    )
    with TestClient(create_app(settings)) as client:
        yield {path: client.get(path).status_code for path in ("/healthz", "/readyz")}


def api_target_groups(stack: EvaluatedStack) -> list[TargetGroupCheck]:
    groups = stack.of_type("aws:lb/targetGroup:TargetGroup")
    assert groups, "the api has a target group"
    return [TargetGroupCheck.of(group.inputs) for group in groups]  # blue/green: both


def grace_period(stack: EvaluatedStack) -> int:
    (api,) = [s for s in stack.of_type("aws:ecs/service:Service") if s.inputs.get("loadBalancers")]
    return int(api.inputs["healthCheckGracePeriodSeconds"])


def test_the_probe_tells_the_two_paths_apart(answers_with_database_down: dict[str, int]) -> None:
    """The premise of the arithmetic, from the running app (not from a comment)."""
    assert answers_with_database_down == {"/healthz": 200, "/readyz": 503}


def test_a_database_failover_replaces_no_task(
    stack: EvaluatedStack, answers_with_database_down: dict[str, int]
) -> None:
    for check in api_target_groups(stack):
        assert not replaced_during_outage(check, answers_with_database_down), check
        # A task started during the outage (a scale-out, a replacement) turns healthy inside the
        # grace period instead of being killed at its end.
        assert answers_with_database_down[check.path] == 200
        assert check.healthy_threshold * check.interval < grace_period(stack)


def test_a_wedged_process_is_replaced_within_the_bound(stack: EvaluatedStack) -> None:
    grace = grace_period(stack)
    for check in api_target_groups(stack):
        silent = seconds_until_a_wedged_task_is_unhealthy(check)
        assert silent <= MAX_WEDGED_SECONDS, f"a wedged process serves errors for {silent} s"
        # Wedged while starting: ECS acts when the grace period ends or the checks fail, later of.
        assert max(grace, silent) <= MAX_WEDGED_AT_START_SECONDS


def test_ecs_and_the_target_group_check_the_same_liveness_path(stack: EvaluatedStack) -> None:
    """ECS also replaces a task whose container health check fails: that one must be shallow
    too, or the container check would undo the target group's choice."""
    command = " ".join(container(stack, "api")["healthCheck"]["command"])
    for check in api_target_groups(stack):
        assert check.path == "/healthz"
        assert f"{check.path}'" in command


def test_control_a_target_group_on_readyz_is_replaced_in_a_failover(
    stack: EvaluatedStack, answers_with_database_down: dict[str, int]
) -> None:
    (group, *_) = stack.of_type("aws:lb/targetGroup:TargetGroup")
    deep = dict(group.inputs)
    deep["healthCheck"] = {**group.inputs["healthCheck"], "path": "/readyz"}
    check = TargetGroupCheck.of(deep)
    assert replaced_during_outage(check, answers_with_database_down)
