"""An ECS rolling update of the `api` behind the proxy, replica by replica, and its broken twins.

The correct sequence (what ECS does with minimumHealthyPercent=100 behind an ALB):
  1. start a new task;
  2. register it; it gets no traffic until the target group's health check passes
     `healthyThreshold` times in a row (within the grace period, or the deployment fails);
  3. deregister one old task: "draining", no new requests, in-flight ones finish;
  4. after the deregistration delay, SIGTERM; SIGKILL if it has not exited by stopTimeout.

ECS with maximumPercent=200 starts the whole new set at once; the rehearsal replaces one replica
at a time so that two cores can carry it (the order of events per replica is the same, and the
rollout model in bench/ uses the stack's real percentages).

The broken variants drop one safeguard each, to prove the rehearsal sees what that costs:
  no-drain           SIGTERM while the replica is still in rotation: the proxy keeps sending it
                     requests until its own health checks notice (unhealthyThreshold x interval).
  no-readiness-gate  the new replica joins the rotation as soon as its process starts, before
                     it listens: requests reach a closed port until the checks take it out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from tools.rehearsal.haproxy import RuntimeApi
from tools.rehearsal.replicas import Replica, RolloutError
from tools.rehearsal.results import StepRecord
from tools.rehearsal.settings import RehearsalTimings


class Variant(StrEnum):
    GOOD = "good"
    NO_DRAIN = "no-drain"
    NO_READINESS_GATE = "no-readiness-gate"


Log = Callable[[str], None]


def bring_into_service(
    replica: Replica,
    proxy: RuntimeApi,
    timings: RehearsalTimings,
    *,
    variant: Variant = Variant.GOOD,
) -> float:
    """Register a started replica and return once it receives traffic (seconds since start)."""
    if variant is Variant.NO_READINESS_GATE:
        proxy.register_unchecked(replica.name, replica.port, timings)
        return time.monotonic() - replica.started_at
    proxy.register(replica.name, replica.port, timings)
    deadline = replica.started_at + timings.healthy_deadline
    while proxy.server(replica.name).operational != "running":
        if not replica.running:
            raise RolloutError(
                f"new replica {replica.name} exited with {replica.process.returncode} before it "
                f"was healthy; see {replica.log_path}"
            )
        if time.monotonic() > deadline:
            raise RolloutError(
                f"new replica {replica.name} did not pass {timings.healthy_threshold} health "
                f"checks within {timings.healthy_deadline:.0f} s; see {replica.log_path}"
            )
        time.sleep(0.05)
    proxy.put_in_rotation(replica.name)
    return time.monotonic() - replica.started_at


def retire(
    replica: Replica,
    proxy: RuntimeApi,
    timings: RehearsalTimings,
    *,
    variant: Variant = Variant.GOOD,
) -> tuple[float, float]:
    """Take an old replica out of service; returns (seconds drained, seconds to stop)."""
    if variant is Variant.NO_DRAIN:
        exit_ = replica.stop(stop_timeout=timings.stop_timeout)
        # The proxy finds out by itself: its checks fail `unhealthyThreshold` times in a row.
        deadline = time.monotonic() + timings.check_interval * (timings.unhealthy_threshold + 2) + 5
        while proxy.server(replica.name).operational == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        proxy.deregister(replica.name)
        return 0.0, exit_.seconds
    drain_started = time.monotonic()
    proxy.drain(replica.name)
    time.sleep(timings.deregistration_delay)
    proxy.deregister(replica.name)
    drained = time.monotonic() - drain_started
    exit_ = replica.stop(stop_timeout=timings.stop_timeout)
    return drained, exit_.seconds


def rolling_update(
    old: list[Replica],
    start_new: Callable[[str], Replica],
    proxy: RuntimeApi,
    timings: RehearsalTimings,
    *,
    variant: Variant = Variant.GOOD,
    log: Log = print,
) -> tuple[list[Replica], list[StepRecord]]:
    """Replace every old replica by a new one; returns the new replicas and what each step took."""
    new_replicas: list[Replica] = []
    steps: list[StepRecord] = []
    for slot, previous in enumerate(old, start=1):
        replica = start_new(f"v2-{slot}")
        new_replicas.append(replica)
        healthy_after = bring_into_service(replica, proxy, timings, variant=variant)
        log(f"{replica.name} in service after {healthy_after:.1f} s; retiring {previous.name}")
        drained, stopped = retire(previous, proxy, timings, variant=variant)
        assert previous.exit is not None
        log(
            f"{previous.name} drained {drained:.1f} s, stopped in {stopped:.1f} s "
            f"({'SIGKILL' if previous.exit.killed else f'exit {previous.exit.code}'})"
        )
        steps.append(
            StepRecord(
                old=previous.name,
                new=replica.name,
                start_to_healthy=healthy_after,
                drained_for=drained,
                stopped_in=stopped,
                exit=previous.exit,
            )
        )
    return new_replicas, steps
