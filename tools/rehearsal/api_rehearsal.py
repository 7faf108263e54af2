"""The `api` rehearsal: PostgreSQL, HAProxy, N replicas, continuous load, a rolling update.

    load generator ──▶ HAProxy (the ALB) ──▶ v1-1 … v1-N  ─┐
    (own process)      runtime API driven    v2-1 … v2-N  ─┴─▶ one scratch PostgreSQL database
                       by the rollout

Timeline: the v1 replicas start and pass their health checks; the load starts (each simulated
user registers, logs in and creates items); a few seconds of steady traffic ("before"); the
rolling update ("during"); steady traffic on the new set ("after"), continued until the run has
sent at least `min_requests`. Then everything stops and the scratch database is dropped.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tools.local.processes import free_port
from tools.rehearsal.database import scratch_database
from tools.rehearsal.haproxy import HAProxy, haproxy_binary
from tools.rehearsal.load_process import LoadProcess
from tools.rehearsal.plan import RehearsalPlan
from tools.rehearsal.replicas import Replica, start_api_replica, stop_all
from tools.rehearsal.results import RehearsalResult, analyse, unclean_exits
from tools.rehearsal.rollout import Log, Variant, bring_into_service, rolling_update
from tools.rehearsal.settings import RolloutSettings


@dataclass(frozen=True)
class ApiRehearsalPlan(RehearsalPlan):
    min_requests: int = 10_000
    variant: Variant = Variant.GOOD


def rehearse_api(
    settings: RolloutSettings, plan: ApiRehearsalPlan, *, workdir: Path, log: Log = print
) -> RehearsalResult:
    timings = settings.scaled(plan.scale)
    haproxy_binary()  # fail before creating anything if HAProxy is missing
    jwt_secret = secrets.token_urlsafe(48)
    workdir.mkdir(parents=True, exist_ok=True)
    everyone: list[Replica] = []
    # Undone in reverse order, also on failure: load, replicas, proxy, database, socket dir.
    with contextlib.ExitStack() as cleanup:
        socket_dir = Path(tempfile.mkdtemp(prefix="shipyard-hap-"))
        cleanup.callback(shutil.rmtree, socket_dir, ignore_errors=True)
        database_url = cleanup.enter_context(scratch_database())
        proxy = HAProxy(workdir=workdir, socket_dir=socket_dir, port=free_port(), timings=timings)
        proxy.start()
        cleanup.callback(proxy.stop)
        cleanup.callback(stop_all, everyone, timings)
        log(f"scratch database migrated; HAProxy on {proxy.url}")

        def start(name: str) -> Replica:
            replica = start_api_replica(
                name,
                workdir=workdir,
                database_url=database_url,
                jwt_secret=jwt_secret,
                timings=timings,
            )
            everyone.append(replica)
            return replica

        old = [start(f"v1-{slot}") for slot in range(1, plan.replicas + 1)]
        for replica in old:
            bring_into_service(replica, proxy.api, timings)
        log(f"{plan.replicas} v1 replicas in service; starting the load")

        load = LoadProcess.start(
            database_url=database_url,
            base_url=proxy.url,
            workdir=workdir,
            concurrency=plan.concurrency,
            max_seconds=plan.max_seconds,
        )
        cleanup.callback(load.kill)
        load.wait_running()
        load.wait_for(seconds=plan.before_seconds)

        log(f"rolling update begins ({plan.variant})")
        rollout_started = time.monotonic()
        _, steps = rolling_update(old, start, proxy.api, timings, variant=plan.variant, log=log)
        rollout_finished = time.monotonic()
        log(f"rolling update done in {rollout_finished - rollout_started:.1f} s")

        load.wait_for(seconds=plan.after_seconds, min_requests=plan.min_requests)
        document = load.stop()

    report = analyse(
        document["records"], rollout_started=rollout_started, rollout_finished=rollout_finished
    )
    problems = unclean_exits(steps, role="api", workdir=workdir)
    stale = {name for name in report.served_by["after"] if not name.startswith("v2-")}
    if stale:
        problems.append(f"old replicas still served requests after the rollout: {sorted(stale)}")
    return RehearsalResult(
        target="api",
        variant=str(plan.variant),
        replicas=plan.replicas,
        settings=settings,
        timings=timings,
        rollout_seconds=rollout_finished - rollout_started,
        steps=steps,
        load=report,
        problems=problems,
        workdir=str(workdir),
    )
