"""The process's drain state, shared by the server's signal handler and the readiness probe."""

from __future__ import annotations

import threading


class Lifecycle:
    def __init__(self) -> None:
        self._draining = threading.Event()

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def begin_drain(self) -> None:
        self._draining.set()
