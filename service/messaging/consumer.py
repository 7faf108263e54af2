"""Running a queue consumer as a process: its loop in a thread, a clean stop on SIGTERM/Ctrl-C.

Shared by `python -m service worker` and the local `alerts` function runner. On a signal the
consumer's `stop` event is set; the process then waits, at most `grace_seconds`, for its loop to
end: the message in hand is finished, the rest of the batch released. A long poll in progress is
waited for too (the consumer hands back whatever it returns, visibility 0): leaving it would let
SQS give messages to a connection nobody reads, and they would wait out their visibility timeout.
So `grace_seconds` must exceed the long-poll wait (the settings check it), and stay below ECS's
stopTimeout.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Protocol

log = logging.getLogger(__name__)


class Consumer(Protocol):
    stop: threading.Event  # set by the signal handler: finish what is in hand, take nothing new
    polling: threading.Event  # set while blocked in a receive with nothing in hand

    def run(self) -> None: ...


def run_until_signalled(consumer: Consumer, *, name: str, grace_seconds: float) -> str:
    """Run `consumer` until SIGTERM/SIGINT; returns how its loop ended, for the exit log line."""
    # A daemon thread: if it is blocked in a long poll when we leave, it must not keep us alive.
    loop = threading.Thread(target=consumer.run, name=name, daemon=True)
    loop.start()
    stopping = threading.Event()

    def on_signal(sig: int, _: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(sig).name})
        consumer.stop.set()
        stopping.set()

    previous: dict[int, Callable[..., object] | int | None] = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        while loop.is_alive() and not stopping.wait(0.5):
            pass
        loop.join(grace_seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not loop.is_alive():
        return "finished"
    if consumer.polling.is_set():
        return f"left a long poll still open after {grace_seconds} s"
    return f"gave up on the work in hand after {grace_seconds} s"  # it will be redelivered
