"""End-to-end smoke test of a running deployment, over HTTP only.

`--mode full` (staging, `make dev`) walks the path a real customer takes: health (/healthz) ->
readiness (/readyz) -> sign up a throwaway address (answered 202: it waits for its address's
confirmation, issue 23) -> log in with the stack's smoke account -> create an item -> place an
order (with an Idempotency-Key) -> poll the order until the worker has completed it. The last
step proves the whole chain: API, database, outbox relay, SNS, SQS and the worker.

The smoke account is a ready account made once per stack by an operator, with the documented
command (no back door in the API): `python -m service create-user smoke@EXAMPLE --password-stdin
--confirmed`; its e-mail and password reach this script as SMOKE_ACCOUNT_EMAIL and
SMOKE_ACCOUNT_PASSWORD.

`--mode read-only` (production) sends GET requests only and leaves nothing behind: health,
readiness (the database answers), and the API itself through the edge, which must refuse an
anonymous `GET /api/v1/users/me` with 401 in the API's error shape.

    python -m scripts.deploy.smoke --base-url https://d111111abcdef8.cloudfront.net --mode read-only
    python -m scripts.deploy.smoke --base-url http://127.0.0.1:8000      # against `make dev`

Each step prints one line; the first failure stops the run with the step, the HTTP status and the
response body, and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from scripts import api_client as api
from scripts.api_client import ApiError, excerpt, expect
from scripts.deploy.errors import DeployError
from scripts.deploy.github_actions import append_summary, run_main

API = api.API_PREFIX


class SmokeError(DeployError):
    """A smoke step failed; the message names the step and what the service answered."""


@dataclass
class SmokeSettings:
    base_url: str
    wait_healthy_seconds: float = 60.0
    order_timeout_seconds: float = 120.0
    poll_seconds: float = 1.0
    request_timeout_seconds: float = 15.0
    email_domain: str = "example.com"
    read_only: bool = False
    # A ready account (see the module's docstring); full mode needs it.
    account_email: str | None = None
    account_password: str | None = None


@dataclass
class SmokeReport:
    steps: list[tuple[str, float]] = field(default_factory=list)
    order_id: Any = None


def run_smoke(
    client: httpx.Client,
    settings: SmokeSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    log: Callable[[str], None] = print,
) -> SmokeReport:
    try:
        return _walk(client, settings, sleep=sleep, clock=clock, log=log)
    except ApiError as exc:  # an answer the step did not expect: the message names both
        raise SmokeError(str(exc)) from exc


def _walk(
    client: httpx.Client,
    settings: SmokeSettings,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    log: Callable[[str], None],
) -> SmokeReport:
    report = SmokeReport()

    def step(name: str, started: float) -> None:
        elapsed = clock() - started
        report.steps.append((name, elapsed))
        log(f"  ok  {name} ({elapsed:.2f} s)")

    # 1. Liveness, waited for: right after a rollout the edge may need a moment to route.
    started = clock()
    deadline = started + settings.wait_healthy_seconds
    while True:
        try:
            health = client.get("/healthz")
            if health.status_code == 200:
                break
            last = f"HTTP {health.status_code}: {excerpt(health)}"
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        if clock() >= deadline:
            raise SmokeError(
                f"health: GET {settings.base_url}/healthz did not answer 200 within "
                f"{settings.wait_healthy_seconds:.0f} s; last: {last}"
            )
        sleep(settings.poll_seconds)
    step("health /healthz", started)

    started = clock()
    expect(client.get("/readyz"), "readiness /readyz", 200)
    step("readiness /readyz", started)

    if settings.read_only:
        started = clock()
        anonymous = expect(
            client.get(f"{API}/users/me"), "API through the edge GET /api/v1/users/me", 401
        )
        api.field(anonymous, "API through the edge", "request_id")  # the API's error shape
        step("API answers through the edge (anonymous 401)", started)
        return report

    if not (settings.account_email and settings.account_password):
        raise SmokeError(
            "full mode logs in with the stack's smoke account: make it once with `python -m "
            "service create-user smoke@<domain> --password-stdin --confirmed` on the stack's "
            "database and pass SMOKE_ACCOUNT_EMAIL and SMOKE_ACCOUNT_PASSWORD"
        )

    # 2. A sign-up of a throwaway address (unique, obviously synthetic): accepted, and it waits
    # for a confirmation nobody will give; the walk goes on with the ready smoke account.
    started = clock()
    email = f"smoke-{uuid.uuid4().hex[:16]}@{settings.email_domain}"
    password = secrets.token_urlsafe(24)  # well over the 12-character minimum
    api.sign_up(client, email, password, full_name="Smoke Test")
    step("sign up", started)

    started = clock()
    auth = api.log_in(client, settings.account_email, settings.account_password).headers
    step("log in", started)

    started = clock()
    item = expect(
        client.post(
            f"{API}/items", json={"title": "Smoke test item", "price": "1.00"}, headers=auth
        ),
        "create item POST /api/v1/items",
    )
    item_id = api.field(item, "create item", "id")
    step("create item", started)

    started = clock()
    order = expect(
        client.post(
            f"{API}/orders",
            json={"lines": [{"item_id": item_id, "quantity": 1}]},
            headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
        ),
        "place order POST /api/v1/orders",
    )
    order_id = api.field(order, "place order", "id")
    report.order_id = order_id
    step("place order", started)

    # 3. The worker completes the order asynchronously (outbox -> SNS -> SQS -> worker).
    started = clock()
    deadline = started + settings.order_timeout_seconds
    while True:
        current = expect(
            client.get(f"{API}/orders/{order_id}", headers=auth), f"read order {order_id}", 200
        )
        status = api.field(current, f"read order {order_id}", "status")
        if status == "completed":
            break
        if status == "failed":
            raise SmokeError(f"order {order_id} failed in the worker: {excerpt(current)}")
        if clock() >= deadline:
            raise SmokeError(
                f"order {order_id} not completed within {settings.order_timeout_seconds:.0f} s "
                f"(check the relay, the queue and the worker); last body: {excerpt(current)}"
            )
        sleep(settings.poll_seconds)
    step("order completed by the worker", started)
    return report


def smoke(settings: SmokeSettings, transport: httpx.BaseTransport | None = None) -> SmokeReport:
    with httpx.Client(
        base_url=settings.base_url.rstrip("/"),
        timeout=settings.request_timeout_seconds,
        headers={"User-Agent": "shipyard-smoke"},
        transport=transport,
    ) as client:
        return run_smoke(client, settings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="e.g. the stack output `url`")
    parser.add_argument("--wait-healthy", type=float, default=60, help="seconds (default 60)")
    parser.add_argument("--order-timeout", type=float, default=120, help="seconds (default 120)")
    parser.add_argument("--email-domain", default="example.com")
    parser.add_argument(
        "--mode",
        choices=["full", "read-only"],
        default="full",
        help="full: a throwaway customer places an order; read-only: GET requests only (prod)",
    )
    args = parser.parse_args(argv)

    def body() -> int:
        settings = SmokeSettings(
            base_url=args.base_url,
            wait_healthy_seconds=args.wait_healthy,
            order_timeout_seconds=args.order_timeout,
            email_domain=args.email_domain,
            read_only=args.mode == "read-only",
            account_email=os.environ.get("SMOKE_ACCOUNT_EMAIL") or None,
            account_password=os.environ.get("SMOKE_ACCOUNT_PASSWORD") or None,
        )
        print(f"smoke test of {settings.base_url}")
        report = smoke(settings)
        append_summary(
            f"### Smoke test passed: {settings.base_url}\n\n"
            + "\n".join(f"- {name}: {seconds:.2f} s" for name, seconds in report.steps)
        )
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
