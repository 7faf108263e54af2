"""The smoke test's own behaviour: the protocol it speaks and how it reports failures.

The run against a real, live system is test_smoke_live.py. Here a stand-in answers through
httpx.MockTransport, because the failure paths (a 503 from /readyz, an order that never completes,
a service that never comes up) cannot be produced on demand by the real service.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import pytest

from scripts.deploy.smoke import SmokeError, SmokeSettings, run_smoke
from tests.delivery.support import FakeClock

SMOKE_ACCOUNT = ("smoke@example.com", "the smoke account's password")


class StandIn:
    """Answers the smoke test's requests the way the API contract says, and checks how it asks."""

    def __init__(
        self, *, ready: int = 200, completes_after_polls: int = 2, healthy_after: int = 0
    ) -> None:
        self.ready = ready
        self.completes_after_polls = completes_after_polls
        self.healthy_after = healthy_after
        self.polls = 0
        self.health_calls = 0
        self.user: dict = {}
        self.idempotency_keys: list[str] = []
        self.methods: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        self.methods.append(method)
        if (method, path, request.headers.get("Authorization")) == (
            "GET",
            "/api/v1/users/me",
            None,
        ):
            return httpx.Response(
                401,
                json={"detail": "Not authenticated", "code": "unauthorized", "request_id": "r1"},
            )
        if path == "/healthz":
            self.health_calls += 1
            if self.health_calls <= self.healthy_after:
                raise httpx.ConnectError("connection refused", request=request)
            return httpx.Response(200, json={"status": "ok"})
        if path == "/readyz":
            return httpx.Response(
                self.ready, json={"status": "ready" if self.ready == 200 else "draining"}
            )
        if (method, path) == ("POST", "/api/v1/users"):
            self.user = json.loads(request.content)
            assert len(self.user["password"]) >= 12
            assert self.user["email"].startswith("smoke-")
            return httpx.Response(202, json={"detail": "check your e-mail"})
        if (method, path) == ("POST", "/api/v1/auth/token"):
            form = parse_qs(request.content.decode())
            assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
            # The stack's ready smoke account, not the throwaway sign-up (which waits for its
            # address's confirmation).
            assert form == {"username": [SMOKE_ACCOUNT[0]], "password": [SMOKE_ACCOUNT[1]]}
            return httpx.Response(200, json={"access_token": "tok", "token_type": "bearer"})
        assert request.headers.get("Authorization") == "Bearer tok", (
            f"{method} {path} without the token"
        )
        if (method, path) == ("POST", "/api/v1/items"):
            assert json.loads(request.content) == {"title": "Smoke test item", "price": "1.00"}
            return httpx.Response(201, json={"id": 17, "title": "Smoke test item", "price": "1.00"})
        if (method, path) == ("POST", "/api/v1/orders"):
            self.idempotency_keys.append(request.headers["Idempotency-Key"])
            assert json.loads(request.content) == {"lines": [{"item_id": 17, "quantity": 1}]}
            return httpx.Response(201, json={"id": 99, "status": "pending"})
        if (method, path) == ("GET", "/api/v1/orders/99"):
            self.polls += 1
            done = self.polls > self.completes_after_polls
            return httpx.Response(
                200, json={"id": 99, "status": "completed" if done else "pending"}
            )
        return httpx.Response(404, json={"detail": "Not Found"})


def _smoke(stand_in: StandIn, clock: FakeClock, **settings):
    client = httpx.Client(base_url="http://service.test", transport=httpx.MockTransport(stand_in))
    with client:
        return run_smoke(
            client,
            SmokeSettings(
                base_url="http://service.test",
                account_email=SMOKE_ACCOUNT[0],
                account_password=SMOKE_ACCOUNT[1],
                **settings,
            ),
            sleep=clock.sleep,
            clock=clock,
            log=lambda line: None,
        )


def test_the_whole_path_passes_and_is_reported_step_by_step(clock):
    stand_in = StandIn(completes_after_polls=2)

    report = _smoke(stand_in, clock)

    assert [name for name, _ in report.steps] == [
        "health /healthz",
        "readiness /readyz",
        "sign up",
        "log in",
        "create item",
        "place order",
        "order completed by the worker",
    ]
    assert report.order_id == 99
    assert stand_in.polls == 3
    assert len(stand_in.idempotency_keys) == 1
    assert len(stand_in.idempotency_keys[0]) == 36


def test_it_waits_for_the_service_to_come_up(clock):
    stand_in = StandIn(healthy_after=3)
    _smoke(stand_in, clock, poll_seconds=2)
    assert stand_in.health_calls == 4


def test_a_service_that_never_comes_up_fails_with_the_last_error(clock):
    with pytest.raises(SmokeError, match="did not answer 200 within 10 s; last: ConnectError"):
        _smoke(StandIn(healthy_after=1_000), clock, wait_healthy_seconds=10)


def test_an_unready_service_fails_at_the_readiness_step_with_its_answer(clock):
    with pytest.raises(SmokeError) as failure:
        _smoke(StandIn(ready=503), clock)
    assert "readiness /readyz" in str(failure.value)
    assert 'HTTP 503: {"status":"draining"}' in str(failure.value)


def test_an_order_that_never_completes_fails_with_the_last_body(clock):
    with pytest.raises(SmokeError) as failure:
        _smoke(StandIn(completes_after_polls=10_000), clock, order_timeout_seconds=30)
    message = str(failure.value)
    assert "order 99 not completed within 30 s" in message
    assert '"status":"pending"' in message


def test_a_failed_order_fails_at_once(clock):
    class Failing(StandIn):
        def __call__(self, request):
            if request.url.path == "/api/v1/orders/99":
                return httpx.Response(200, json={"id": 99, "status": "failed"})
            return super().__call__(request)

    with pytest.raises(SmokeError, match="order 99 failed in the worker"):
        _smoke(Failing(), clock)
    assert clock.sleeps == []


def test_an_unexpected_answer_names_the_step_and_the_request(clock):
    class Broken(StandIn):
        def __call__(self, request):
            if request.url.path == "/api/v1/items":
                return httpx.Response(500, text="Internal Server Error")
            return super().__call__(request)

    with pytest.raises(
        SmokeError,
        match=r"create item POST /api/v1/items: POST http://service.test/\S+ answered HTTP 500",
    ):
        _smoke(Broken(), clock)


def test_read_only_mode_sends_only_gets_and_checks_the_api_through_the_edge(clock):
    stand_in = StandIn()
    report = _smoke(stand_in, clock, read_only=True)
    assert set(stand_in.methods) == {"GET"}, stand_in.methods
    assert stand_in.user == {}  # nothing written
    assert stand_in.idempotency_keys == []
    assert [name for name, _ in report.steps][-1] == "API answers through the edge (anonymous 401)"


def test_read_only_mode_fails_when_the_edge_does_not_reach_the_api(clock):
    class EdgeToBucket(StandIn):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/api/"):
                return httpx.Response(403, text="<Error><Code>AccessDenied</Code></Error>")
            return super().__call__(request)

    with pytest.raises(SmokeError, match=r"GET /api/v1/users/me.*HTTP 403"):
        _smoke(EdgeToBucket(), clock, read_only=True)


def test_full_mode_without_the_smoke_account_says_how_to_make_one(clock):
    # Issue 23: a sign-up waits for its address's confirmation, so the walk needs a ready
    # account, made the operator's way.
    client = httpx.Client(base_url="http://service.test", transport=httpx.MockTransport(StandIn()))
    with client, pytest.raises(SmokeError, match="python -m service create-user"):
        run_smoke(
            client,
            SmokeSettings(base_url="http://service.test"),
            sleep=clock.sleep,
            clock=clock,
            log=lambda _: None,
        )
