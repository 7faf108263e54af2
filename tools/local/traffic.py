"""Clients that keep using a running API while something breaks, and remember every answer.

Each loop runs in a thread with its own connection (keep-alive, like a browser or the ALB) and
records, per request, when it was sent and answered, the status, the error code and the request
id, or the transport error when the connection broke: that is a dropped connection, which a
server must never cause.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    kind: str  # "read", "write", "order", "readyz", "healthz"
    sent: float  # time.monotonic()
    received: float
    status: int | None  # None: no HTTP answer (the connection broke)
    code: str | None = None  # the error shape's `code`
    request_id: str | None = None
    retry_after: str | None = None
    error: str | None = None  # the transport error, when status is None


@dataclass
class Traffic:
    """Readers, writers, an order stream and a readiness prober against one base URL."""

    base_url: str
    headers: dict[str, str]
    item_id: int
    answers: list[Answer] = field(default_factory=list)
    accepted_orders: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Traffic:
        loops: list[tuple[str, Callable[[httpx.Client], None]]] = [
            ("read", self._read),
            ("read", self._read),
            ("write", self._write),
            ("order", self._order),
            ("probe", self._probe),
        ]
        for name, loop in loops:
            thread = threading.Thread(target=self._run, args=(loop,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def of(self, *kinds: str) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.kind in kinds]

    def last(self, kind: str) -> Answer | None:
        answers = self.of(kind)
        return answers[-1] if answers else None

    # --- the loops -------------------------------------------------------------------------------
    def _run(self, loop: Callable[[httpx.Client], None]) -> None:
        # Long enough that only a hung server, never a slow one, turns into a recorded error.
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            while not self._stop.is_set():
                loop(http)

    def _read(self, http: httpx.Client) -> None:
        self._call(http, "read", "GET", "/api/v1/items", params={"limit": 20})
        time.sleep(0.02)

    def _write(self, http: httpx.Client) -> None:
        self._call(http, "write", "POST", "/api/v1/items", json={"title": "t", "price": "1.00"})
        time.sleep(0.05)

    def _order(self, http: httpx.Client) -> None:
        """One order at a time, retried on 503 with the same idempotency key until accepted:
        what the README tells clients to do. An order stays in flight across the outage."""
        key = uuid.uuid4().hex
        while not self._stop.is_set():
            answer, body = self._call(
                http,
                "order",
                "POST",
                "/api/v1/orders",
                headers={"Idempotency-Key": key},
                json={"lines": [{"item_id": self.item_id, "quantity": 1}]},
            )
            if answer.status == 202:
                with self._lock:
                    self.accepted_orders.append(int(body["id"]))
                break
            time.sleep(0.2)
        time.sleep(0.1)

    def _probe(self, http: httpx.Client) -> None:
        self._call(http, "readyz", "GET", "/readyz", authenticated=False)
        self._call(http, "healthz", "GET", "/healthz", authenticated=False)
        time.sleep(0.1)

    def _call(
        self,
        http: httpx.Client,
        kind: str,
        method: str,
        path: str,
        *,
        authenticated: bool = True,
        headers: dict[str, str] | None = None,
        **kwargs: object,
    ) -> tuple[Answer, dict[str, Any]]:
        sent = time.monotonic()
        all_headers = {**(self.headers if authenticated else {}), **(headers or {})}
        try:
            response = http.request(method, path, headers=all_headers, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            answer = Answer(
                kind, sent, time.monotonic(), None, error=f"{type(exc).__name__}: {exc}"
            )
            self._record(answer)
            return answer, {}
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {"data": body}
        answer = Answer(
            kind,
            sent,
            time.monotonic(),
            response.status_code,
            code=body.get("code"),
            request_id=response.headers.get("x-request-id"),
            retry_after=response.headers.get("retry-after"),
        )
        self._record(answer)
        return answer, body

    def _record(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)
