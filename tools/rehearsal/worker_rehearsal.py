"""The `worker` rehearsal: replace every order worker while orders stream in; lose and double
nothing.

    load (orders) ──▶ api (+ outbox relay) ──▶ SNS FIFO ──▶ SQS FIFO ──▶ worker v1-1 … v1-N
                          │                     (emulator)                worker v2-1 … v2-N
                          └────────── one scratch PostgreSQL database ◀──────────┘

The worker has no load balancer: ECS starts a new task, and once it runs stops an old one with
SIGTERM (SIGKILL after stopTimeout). The worker then stops receiving, finishes the message in
hand, hands the rest of its batch back (visibility 0) and exits. When the load is over, every
accepted order must become final, exactly once (see orders_audit.py).

Variant `kill`: SIGKILL instead of SIGTERM (a crash, or a stopTimeout shorter than a batch).
Nothing is lost even then, by design: the messages in hand come back after the visibility
timeout and the idempotent worker finishes them, late; the table shows the redeliveries and
the latency they cost.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from tools.local.processes import Exit, kill, wait_until_ready
from tools.rehearsal.database import scratch_database
from tools.rehearsal.load_process import LoadProcess
from tools.rehearsal.messaging import local_messaging
from tools.rehearsal.orders_audit import audit_orders, wait_until_final
from tools.rehearsal.plan import RehearsalPlan
from tools.rehearsal.replicas import (
    Replica,
    RolloutError,
    start_api_replica,
    start_worker_replica,
    stop_all,
    wait_worker_started,
    worker_environment,
)
from tools.rehearsal.results import RehearsalResult, StepRecord, analyse, unclean_exits
from tools.rehearsal.rollout import Log
from tools.rehearsal.settings import RehearsalTimings, RolloutSettings


class WorkerVariant(StrEnum):
    GOOD = "good"
    KILL = "kill"


@dataclass(frozen=True)
class WorkerRehearsalPlan(RehearsalPlan):
    # Simulated customers: each is one FIFO message group, so also the worker's parallelism.
    concurrency: int = 6
    # Requests per second in all (60 % of them orders): below what the pipeline sustains on
    # two shared cores, so that what the rehearsal measures is the rollout, not a backlog.
    rate: float = 15.0
    # Extra simulated fulfilment time per order (the service's WORKER_PROCESSING_SECONDS).
    processing_seconds: float = 0.0
    variant: WorkerVariant = WorkerVariant.GOOD


def wait_api_ready(replica: Replica, timeout: float = 60) -> None:
    url = f"http://127.0.0.1:{replica.port}/readyz"
    remaining = replica.started_at + timeout - time.monotonic()
    try:
        wait_until_ready(url, replica.process, replica.log_path, timeout=max(0.0, remaining))
    except RuntimeError as exc:
        raise RolloutError(f"the api did not become ready: {exc}") from exc


def stop_worker(replica: Replica, timings: RehearsalTimings, variant: WorkerVariant) -> Exit:
    if variant is WorkerVariant.KILL:
        replica.exit = kill(replica.process)
        return replica.exit
    return replica.stop(stop_timeout=timings.stop_timeout)


def rehearse_worker(
    settings: RolloutSettings, plan: WorkerRehearsalPlan, *, workdir: Path, log: Log = print
) -> RehearsalResult:
    timings = settings.scaled(plan.scale)
    workdir.mkdir(parents=True, exist_ok=True)
    jwt_secret = secrets.token_urlsafe(48)
    everyone: list[Replica] = []
    # Undone in reverse order, also on failure: load, processes, emulator, database.
    with contextlib.ExitStack() as cleanup:
        database_url = cleanup.enter_context(scratch_database())
        messaging = cleanup.enter_context(
            local_messaging(database_url=database_url, workdir=workdir)
        )
        cleanup.callback(stop_all, everyone, timings)
        worker_env = worker_environment(
            database_url=database_url,
            jwt_secret=jwt_secret,
            messaging_env=messaging.env,
            timings=timings,
        )
        processing = {"WORKER_PROCESSING_SECONDS": str(plan.processing_seconds)}

        def start_worker(name: str) -> Replica:
            replica = start_worker_replica(
                name, workdir=workdir, env=worker_env, extra_env=processing
            )
            everyone.append(replica)
            return replica

        api = start_api_replica(
            "api",
            workdir=workdir,
            database_url=database_url,
            jwt_secret=jwt_secret,
            timings=timings,
            extra_env={**messaging.env, "RELAY_ENABLED": "true"},
        )
        everyone.append(api)
        old = [start_worker(f"v1-{slot}") for slot in range(1, plan.replicas + 1)]
        wait_api_ready(api)
        for replica in old:
            wait_worker_started(replica, timeout=timings.healthy_deadline)
        log(f"api and {plan.replicas} v1 workers running; orders start streaming in")

        load = LoadProcess.start(
            database_url=database_url,
            base_url=f"http://127.0.0.1:{api.port}",
            workdir=workdir,
            concurrency=plan.concurrency,
            max_seconds=plan.max_seconds,
            mix="orders",
            rate=plan.rate,
        )
        cleanup.callback(load.kill)
        load.wait_running()
        load.wait_for(seconds=plan.before_seconds)

        log(f"rolling replacement of the workers begins ({plan.variant})")
        rollout_started, rollout_started_at = time.monotonic(), datetime.now(UTC)
        steps = []
        for slot, previous in enumerate(old, start=1):
            replica = start_worker(f"v2-{slot}")
            running_after = wait_worker_started(replica, timeout=timings.healthy_deadline)
            exit_ = stop_worker(previous, timings, plan.variant)
            log(
                f"{replica.name} running after {running_after:.1f} s; {previous.name} "
                f"{'killed' if plan.variant is WorkerVariant.KILL else 'stopped'} in "
                f"{exit_.seconds:.1f} s (exit {exit_.code})"
            )
            steps.append(
                StepRecord(previous.name, replica.name, running_after, 0.0, exit_.seconds, exit_)
            )
        rollout_finished, rollout_finished_at = time.monotonic(), datetime.now(UTC)
        log(f"workers replaced in {rollout_finished - rollout_started:.1f} s")

        load.wait_for(seconds=plan.after_seconds, min_requests=plan.min_requests)
        document = load.stop()
        # Orders still in the pipeline finish now; a killed worker's come back after the
        # visibility timeout, so allow for it twice.
        settle = wait_until_final(database_url, timeout=60 + 2 * timings.visibility_timeout)
        log(f"pipeline settled {settle:.1f} s after the load stopped")

        def phase_of(placed: datetime) -> str:
            if placed < rollout_started_at:
                return "before"
            return "during" if placed <= rollout_finished_at else "after"

        audit = audit_orders(
            database_url,
            accepted=sum(1 for r in document["records"] if r[2] == "place_order" and r[4]),
            dead_lettered=messaging.queue_depth("ORDER_PROCESSING_DLQ_URL"),
            phase_of=phase_of,
            late_after_seconds=timings.visibility_timeout,
            worker_logs=[(r.name, r.log_path) for r in everyone if r.role == "worker"],
        )

    report = analyse(
        document["records"], rollout_started=rollout_started, rollout_finished=rollout_finished
    )
    problems = audit.problems()
    if plan.variant is WorkerVariant.GOOD:
        problems += unclean_exits(steps, role="worker", workdir=workdir)
    return RehearsalResult(
        target="worker",
        variant=str(plan.variant),
        replicas=plan.replicas,
        settings=settings,
        timings=timings,
        rollout_seconds=rollout_finished - rollout_started,
        steps=steps,
        load=report,
        problems=problems,
        workdir=str(workdir),
        orders=audit,
    )
