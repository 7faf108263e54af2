"""`make dev` (`python -m tools.local dev`): the whole system in the foreground.

    emulator (moto server) ─ topology from service/messaging/topology.py, functions from
                             services.yaml (one stand-in queue each)
    migrate ─ api (+ outbox relay, + web/ at /) ─ worker ─ one runner per declared function
              (the demo's: the order-alerts Lambda handler)

Every part is the same command the container runs, as its own process. Ctrl-C or SIGTERM stops
them all (each drains as it would on ECS); if one dies, the others are stopped and we exit 1.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from service.core.config import Settings
from service.core.db import make_engine
from service.messaging.bootstrap import create_topology
from service.migrations.runner import upgrade
from tools.local.emulator import EMULATOR_CREDENTIALS, Emulator
from tools.local.function_runner import declared_topology
from tools.local.processes import STOP_SIGNALS, start_python, supervise, terminate
from tools.paths import REPO_ROOT

log = logging.getLogger("service.dev")


def run_dev(settings: Settings) -> int:
    # Until `supervise` takes over, a stop signal ends the start-up; `finally` stops what began.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop_starting)
    state_dir = Path(os.environ.get("DEV_STATE_DIR", REPO_ROOT / ".local"))
    emulator = Emulator(log_path=state_dir / "emulator.log")
    log.info("starting the AWS emulator", extra={"url": emulator.url})
    emulator.start()
    children: list[subprocess.Popen[bytes]] = []
    # Before the emulator's topology: a wrong services.yaml stops here, naming its entries.
    topology = declared_topology()
    try:
        os.environ.update(EMULATOR_CREDENTIALS)
        local = settings.model_copy(update={"aws_endpoint_url": emulator.url})
        env = {  # on top of this environment, with the emulator's credentials set just above
            "AWS_ENDPOINT_URL": emulator.url,
            "AWS_REGION": settings.aws_region,
            "DATABASE_URL": settings.database_url,
            **create_topology(local, topology=topology),
        }
        log.info("topology created on the emulator")
        upgrade(make_engine(settings.database_url))
        web = REPO_ROOT / "web"
        api_env = {**env, "RELAY_ENABLED": "true"}
        if web.is_dir() and not settings.web_root:
            api_env["WEB_ROOT"] = str(web)
        children.append(_spawn("api", api_env))
        # A short long-poll locally: Ctrl-C waits for it (a value you set wins).
        worker_env = {"WORKER_WAIT_SECONDS": "2", **env, "RELAY_ENABLED": "false"}
        children.append(_spawn("worker", worker_env))
        # Each function's handler (Lambda on AWS), fed by its stand-in queue
        # (local/function_runner.py).
        for function in topology.functions:
            children.append(_spawn("function", env, function.key))
        _banner(settings)
        return supervise(children, log=log)
    finally:
        for child in children:
            terminate(child)  # each drains as on ECS: SIGTERM, SIGKILL after 30 s
        emulator.stop()


def _stop_starting(sig: int, _: FrameType | None) -> None:
    raise SystemExit(f"stopped by {signal.Signals(sig).name} while starting")


# Each part is the command that runs it on AWS; only the functions (Lambda there) have a local
# launcher of their own.
_MODULE = {
    "api": ("service", "api"),
    "worker": ("service", "worker"),
    "function": ("tools.local", "function"),
}


def _spawn(command: str, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    # Output on this terminal (log_path None), each line as the process writes it.
    return start_python(["-m", *_MODULE[command], *args], env=env, log_path=None)


def _banner(settings: Settings) -> None:
    base = f"http://{settings.host}:{settings.port}"
    print(
        f"\n  shipyard is starting on {base}\n"
        f"    web UI      {base}/\n"
        f"    API docs    {base}/docs   (sign up, authorize, POST /api/v1/orders)\n"
        f"    database    {settings.database_url}\n"
        f"  Ctrl-C stops everything.\n",
        file=sys.stderr,
        flush=True,
    )
