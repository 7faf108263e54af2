"""The production HTTP server: uvicorn with a drain on SIGTERM.

On SIGTERM (ECS stopping the task after the ALB has deregistered it) or Ctrl-C:
1. `/readyz` turns 503 at once, so any proxy still probing stops sending new requests;
2. after `DRAIN_NOTICE_SECONDS` (0 on ECS: the ALB has already drained the target) the server
   stops accepting connections and closes idle keep-alive ones;
3. in-flight requests finish, capped by `GRACEFUL_SHUTDOWN_SECONDS` (below ECS's stopTimeout, so
   SIGKILL never cuts a request), then the process exits 0.
A second signal during the drain stops waiting.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import sys
import time
from types import FrameType

import uvicorn
from fastapi import FastAPI

from service.core import http_protocol
from service.core.config import Settings
from service.core.lifecycle import Lifecycle

log = logging.getLogger(__name__)

# Young objects allocated before the collector runs (CPython's default is 700). A request makes
# a few hundred container objects that die with it; at 700 the youngest generation is
# collected every request or two, and every tenth of those goes on to the older generations.
# Measured under wrk (tools/bench/RESULTS.md, issue 25): with the defaults and nothing frozen,
# a full collection walked every object the imports had made and stopped the loop for hundreds
# of milliseconds on this machine, the long tail of every read.
GC_YOUNG_THRESHOLD = 50_000


def tune_garbage_collection() -> None:
    """Called once the app is built, before serving: what exists now (modules, routes, schemas,
    settings) lives as long as the process, so it is moved out of the collector's sight
    (`gc.freeze`: never walked again, and shared copy-on-write after a fork), and the youngest
    generation is collected less often. Cycles are still collected; only less often and over
    far fewer objects."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, lifecycle: Lifecycle, notice: float) -> None:
        super().__init__(config)
        self.lifecycle = lifecycle
        self.notice = notice
        self._exit_at: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Deliberately not uvicorn's: it re-raises the signal after shutdown (exit status 143);
        # a drained, clean stop is a success and exits 0.
        if self.lifecycle.draining:
            log.warning("second signal during drain; stopping now", extra={"signal": sig})
            self.should_exit = True
            self.force_exit = sig == signal.SIGINT
            return
        log.info(
            "drain started",
            extra={"signal": signal.Signals(sig).name, "notice_seconds": self.notice},
        )
        self.lifecycle.begin_drain()
        self._exit_at = time.monotonic() + self.notice
        if self.notice <= 0:
            self.should_exit = True

    async def on_tick(self, counter: int) -> bool:
        if self._exit_at is not None and time.monotonic() >= self._exit_at:
            self.should_exit = True
        return await super().on_tick(counter)


def serve(app: FastAPI, settings: Settings) -> None:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # Longer than the ALB's 60 s idle timeout: the ALB, not us, closes idle connections.
        timeout_keep_alive=settings.keepalive_seconds,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        proxy_headers=True,
        # Only these hops' X-Forwarded-For is believed; the client is the rightmost entry that is
        # not one of them (uvicorn's ProxyHeadersMiddleware), so a caller cannot choose it.
        forwarded_allow_ips=[str(network) for network in settings.trusted_proxies],
        server_header=False,
        # Limits a handful of clients could otherwise push past (issue 23): the request head's
        # size and a write timeout (service/core/http_protocol.py), and how many connections and
        # requests one process holds at once (beyond it: 503 at once, not a pile-up).
        http=http_protocol.configure(
            max_head_bytes=settings.max_request_head_bytes,
            write_timeout_seconds=settings.write_timeout_seconds,
        ),
        limit_concurrency=settings.limit_concurrency,
        access_log=False,  # our middleware logs each request with its id
        log_config=None,  # keep our JSON logging
        lifespan="on",
    )
    lifecycle: Lifecycle = app.state.lifecycle
    tune_garbage_collection()
    if settings.web_concurrency > 1:
        _serve_in_processes(config, lifecycle, settings)
        return
    server = DrainingServer(config, lifecycle=lifecycle, notice=settings.drain_notice_seconds)
    server.run()
    log.info("server stopped")


def _serve_in_processes(config: uvicorn.Config, lifecycle: Lifecycle, settings: Settings) -> None:
    """WEB_CONCURRENCY > 1: fork that many servers sharing one listening socket.

    Forked before the app starts (its lifespan, pool and relay start in each child), so nothing
    with a thread or a connection is copied. The parent only passes SIGTERM/SIGINT on (each
    child drains as above) and exits 0 when every child did; a child that dies on its own
    stops the others and the parent exits 1, so ECS replaces the task."""
    sock = config.bind_socket()
    children: list[int] = []
    for _ in range(settings.web_concurrency):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child (the test sees its effects)
            code = 1
            try:
                notice = settings.drain_notice_seconds
                DrainingServer(config, lifecycle=lifecycle, notice=notice).run(sockets=[sock])
                code = 0
            finally:
                logging.shutdown()
                os._exit(code)
        children.append(pid)
    sock.close()
    stopping = False

    def pass_on(sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.kill(child, sig)

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    log.info("server processes started", extra={"processes": children})
    failed = False
    while children:
        pid, status = os.wait()
        children.remove(pid)
        if os.waitstatus_to_exitcode(status) != 0:
            failed = True
        if not stopping and children:  # one died on its own: stop the rest, let ECS replace us
            log.error("a server process exited; stopping the others", extra={"pid": pid})
            pass_on(signal.SIGTERM, None)
    log.info("server stopped")
    if failed or not stopping:
        sys.exit(1)
