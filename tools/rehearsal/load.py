"""`python -m tools.rehearsal.load`: continuous client traffic in its own process, until stopped.

Threads, each a user with its own keep-alive connection (as browsers behind CloudFront would
hold), send a weighted mix of reads, writes, logins and orders to one base URL (127.0.0.1 only).
Every request is recorded: start time (CLOCK_MONOTONIC, which the rehearsal shares on Linux, so it
can cut the run into before / during / after), duration, kind, status or error, whether that is
the answer the request must get, and which replica served it (the proxy's `X-Served-By`).

A request fails when the answer is not the one its kind must get: any 5xx, an unexpected 4xx, or
a connection error or timeout. 4xx answers that are part of the mix by design (reading an item
that does not exist → 404) are successes when they come.

It stops on SIGTERM/SIGINT, at --max-seconds or at --max-requests, whichever comes first, lets
requests in flight finish, and writes the records as JSON to --out. It prints a progress line
to stderr every few seconds and keeps --status (JSON: phase, sent, failed) current.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import httpx

from scripts import api_client as api

PASSWORD = "rehearsal-password-0123"  # noqa: S105 - throwaway accounts in a scratch database

# kind -> the status it must get. Anything else is a failure.
EXPECTED: dict[str, int] = {
    "login": 200,
    "read_me": 200,
    "list_items": 200,
    "read_item": 200,
    "create_item": 201,
    "update_item": 200,
    "missing_item": 404,  # 4xx by design
    "place_order": 202,
    "list_orders": 200,
}

# The steady mix (relative weights). Logins are rare because each costs ~0.1 s of Argon2 on a
# core the replicas share; orders only when the API has them (checked in /openapi.json).
DEFAULT_MIX: dict[str, int] = {
    "list_items": 34,
    "read_item": 14,
    "read_me": 5,
    "create_item": 12,
    "update_item": 8,
    "missing_item": 5,
    "login": 1,
    "place_order": 14,
    "list_orders": 7,
}
# The worker rehearsal: orders streaming in, with some reads around them.
ORDERS_MIX: dict[str, int] = {
    "place_order": 60,
    "list_orders": 10,
    "list_items": 15,
    "read_item": 15,
}
MIXES = {"api": DEFAULT_MIX, "orders": ORDERS_MIX}
ORDER_KINDS = frozenset({"place_order", "list_orders"})

MISSING_ITEM_ID = 2**31 - 1

# One record: [started (monotonic s), duration (s), kind, status or error name, ok, served by].
Record = tuple[float, float, str, int | str, bool, str]


@dataclass
class Tally:
    """The records and failure count, shared by the worker threads."""

    records: list[Record] = field(default_factory=list)
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)
            if not record[4]:
                self.failed += 1


class Pacer:
    """Spaces requests evenly at `rate` per second across every thread (0: as fast as possible)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1 / rate if rate > 0 else 0.0
        self.next_at = time.monotonic()
        self.lock = threading.Lock()

    def wait(self, stop: threading.Event) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            self.next_at = max(self.next_at + self.interval, now)
            due = self.next_at
        stop.wait(max(due - time.monotonic(), 0))


class User:
    """One simulated client: an account, its items, and one keep-alive connection."""

    def __init__(self, base_url: str, tally: Tally, rng: random.Random, email: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=10.0)
        self.tally = tally
        self.rng = rng
        # A ready account the rehearsal made with `python -m service create-user` (a sign-up
        # over HTTP waits for its address's confirmation; tools/local/accounts.py).
        self.email = email
        self.token = ""
        self.item_ids: list[int] = []

    def request(self, kind: str, method: str, url: str, **kwargs: object) -> httpx.Response | None:
        return self.record(kind, partial(self.client.request, method, url, **kwargs))  # type: ignore[arg-type]

    def record(self, kind: str, send: Callable[[], httpx.Response]) -> httpx.Response | None:
        """Send, time and tally one request; the response if it got the status `kind` expects."""
        started = time.monotonic()
        response: httpx.Response | None = None
        try:
            response = send()
            outcome: int | str = response.status_code
            served_by = response.headers.get("x-served-by", "")
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
            served_by = ""
        ok = outcome == EXPECTED[kind]
        self.tally.add((started, time.monotonic() - started, kind, outcome, ok, served_by))
        return response if ok else None

    @property
    def auth(self) -> dict[str, str]:
        return api.bearer(self.token)

    # --- set-up: an account, a token, a few items ------------------------------------------

    def set_up(self) -> bool:
        if not self.login():
            return False
        return all(self.create_item() for _ in range(3))

    def login(self) -> bool:
        response = self.record("login", partial(api.post_token, self.client, self.email, PASSWORD))
        if response is None:
            return False
        self.token = response.json()["access_token"]
        return True

    # --- the mix ---------------------------------------------------------------------------

    def read_me(self) -> None:
        self.request("read_me", "GET", "/api/v1/users/me", headers=self.auth)

    def list_items(self) -> None:
        self.request("list_items", "GET", "/api/v1/items?limit=20", headers=self.auth)

    def read_item(self) -> None:
        item_id = self.rng.choice(self.item_ids)
        self.request("read_item", "GET", f"/api/v1/items/{item_id}", headers=self.auth)

    def create_item(self) -> bool:
        price = f"{self.rng.randint(1, 99_999) / 100:.2f}"
        response = self.request(
            "create_item",
            "POST",
            "/api/v1/items",
            headers=self.auth,
            json={"title": f"item {uuid.uuid4().hex[:8]}", "price": price},
        )
        if response is None:
            return False
        self.item_ids.append(response.json()["id"])
        return True

    def update_item(self) -> None:
        item_id = self.rng.choice(self.item_ids)
        self.request(
            "update_item",
            "PATCH",
            f"/api/v1/items/{item_id}",
            headers=self.auth,
            json={"description": f"updated {time.time():.3f}"},
        )

    def missing_item(self) -> None:
        # A valid id no item has (the largest 32-bit one the API accepts): 404, not 422.
        self.request("missing_item", "GET", f"/api/v1/items/{MISSING_ITEM_ID}", headers=self.auth)

    def place_order(self) -> None:
        lines = [
            {"item_id": item_id, "quantity": self.rng.randint(1, 3)}
            for item_id in self.rng.sample(self.item_ids, k=min(2, len(self.item_ids)))
        ]
        self.request(
            "place_order",
            "POST",
            "/api/v1/orders",
            headers={**self.auth, "Idempotency-Key": uuid.uuid4().hex},
            json={"lines": lines},
        )

    def list_orders(self) -> None:
        self.request("list_orders", "GET", "/api/v1/orders", headers=self.auth)

    def act(self, kind: str) -> None:
        if kind == "login":
            self.login()
        elif kind == "create_item":
            self.create_item()
        else:
            action: Callable[[], None] = getattr(self, kind)
            action()


def api_has_orders(base_url: str) -> bool:
    try:
        schema = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    except (httpx.HTTPError, ValueError):
        return False
    return "/api/v1/orders" in schema.get("paths", {})


class LoadRun:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tally = Tally()
        self.stop = threading.Event()
        self.phase = "setup"
        self.started = time.monotonic()
        self.mix = dict(MIXES[args.mix])
        self.set_up_failures = 0

    def run(self) -> int:
        if not api_has_orders(self.args.base_url):
            if self.args.mix == "orders":
                print("load: the API has no /api/v1/orders; nothing to send", file=sys.stderr)
                return 2
            self.mix = {k: v for k, v in self.mix.items() if k not in ORDER_KINDS}
        kinds = list(self.mix)
        weights = [self.mix[k] for k in kinds]
        ready = threading.Barrier(self.args.concurrency + 1)
        pacer = Pacer(self.args.rate)

        accounts = json.loads(Path(self.args.accounts).read_text())
        if len(accounts) < self.args.concurrency:
            print(
                f"load: {len(accounts)} accounts for {self.args.concurrency} users", file=sys.stderr
            )
            return 2

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            email = accounts[seed - self.args.seed]
            user = User(self.args.base_url, self.tally, rng, email)
            set_up = user.set_up()
            if not set_up:
                self.set_up_failures += 1
            try:
                ready.wait()
            except threading.BrokenBarrierError:
                return
            while set_up and not self.stop.is_set() and not self._limits_reached():
                pacer.wait(self.stop)
                if not self.stop.is_set():
                    user.act(rng.choices(kinds, weights)[0])
            user.client.close()

        threads = [
            threading.Thread(target=worker, args=(self.args.seed + i,), daemon=True)
            for i in range(self.args.concurrency)
        ]
        for thread in threads:
            thread.start()
        ready.wait()
        self.phase = "running"
        progress = threading.Thread(target=self._report_progress, daemon=True)
        progress.start()
        while not self.stop.is_set() and not self._limits_reached():
            self.stop.wait(0.1)
        self.stop.set()
        for thread in threads:
            thread.join(15)
        self.phase = "done"
        self._write_status()
        self._print_progress(final=True)
        self._write_results()
        return 0

    def _limits_reached(self) -> bool:
        max_seconds: float = self.args.max_seconds
        max_requests: int = self.args.max_requests
        return (
            time.monotonic() - self.started >= max_seconds
            or len(self.tally.records) >= max_requests
        )

    def _report_progress(self) -> None:
        next_line = time.monotonic() + self.args.progress_every
        last_count, last_time = 0, time.monotonic()
        while self.phase != "done":
            self._write_status()
            if time.monotonic() >= next_line:
                now, count = time.monotonic(), len(self.tally.records)
                self._print_progress(rate=(count - last_count) / max(now - last_time, 1e-9))
                last_count, last_time = count, now
                next_line = now + self.args.progress_every
            time.sleep(0.25)

    def _print_progress(self, *, rate: float | None = None, final: bool = False) -> None:
        sent, failed = len(self.tally.records), self.tally.failed
        elapsed = time.monotonic() - self.started
        label = "load done" if final else "load"
        rate_text = f"  {rate:6.0f} req/s" if rate is not None else ""
        print(
            f"{label}: {elapsed:6.1f} s  sent {sent:7,}  failed {failed:5,}{rate_text}",
            file=sys.stderr,
            flush=True,
        )

    def _write_status(self) -> None:
        if not self.args.status:
            return
        status = {
            "phase": self.phase,
            "sent": len(self.tally.records),
            "failed": self.tally.failed,
            "set_up_failures": self.set_up_failures,
        }
        path = Path(self.args.status)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(status))
        temporary.replace(path)  # atomic: the reader never sees half a file

    def _write_results(self) -> None:
        document = {
            "base_url": self.args.base_url,
            "concurrency": self.args.concurrency,
            "mix": self.mix,
            "expected": EXPECTED,
            "set_up_failures": self.set_up_failures,
            "records": self.tally.records,
        }
        Path(self.args.out).write_text(json.dumps(document))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.rehearsal.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080")
    parser.add_argument("--out", required=True, help="where to write the records (JSON)")
    parser.add_argument("--status", help="a JSON file kept current with the counts")
    parser.add_argument(
        "--accounts",
        required=True,
        help="a JSON list of ready accounts' e-mails (made with python -m service create-user), "
        f"one per simulated user, each with the password {PASSWORD!r}",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="simulated users (threads)")
    parser.add_argument("--max-seconds", type=float, default=600, help="hard stop")
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="hard stop")
    parser.add_argument("--progress-every", type=float, default=3.0, help="seconds between lines")
    parser.add_argument(
        "--rate", type=float, default=0, help="requests per second in all (default: unpaced)"
    )
    parser.add_argument("--mix", choices=sorted(MIXES), default="api", help="what to send")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    host = urlsplit(args.base_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        parser.error(f"--base-url must point at this machine (127.0.0.1), not {host}")
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be 1..64")
    return args


def main(argv: list[str] | None = None) -> int:
    run = LoadRun(parse_args(argv))

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        run.stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return run.run()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
