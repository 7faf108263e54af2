"""Each container's settings, as the platform writes them, start the SERVICE's own configuration.

The service fails closed (service/core/config.py: no default ENVIRONMENT; outside local the api
refuses to start without TRUSTED_PROXIES). So the platform is checked with the service's code,
not a copy of its rules: `Settings` is built from exactly a container definition's `environment`
plus a placeholder for each name in its `secrets` (ECS injects those at start), and the api must
pass the start-up check `python -m service api` runs (`Settings.missing_api_settings`).
"""

from __future__ import annotations

import asyncio
import secrets as random_secrets
from collections.abc import Callable
from ipaddress import ip_address, ip_network
from typing import Any
from unittest import mock

import pytest
from pydantic import ValidationError
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from service.core.config import Settings
from tests.platform_program.conftest import public_origin
from tests.platform_program.queries import environment, secrets
from tools.plan.offline import CLOUDFRONT_ORIGIN_FACING_CIDRS, EvaluatedStack

ROLES = ("api", "worker", "migrate")
VIEWER = "203.0.113.7"


def container_process_env(stack: EvaluatedStack, role: str) -> dict[str, str]:
    """What the process sees: the definition's environment and its injected secrets."""
    env = environment(stack, role)
    for name in secrets(stack, role):
        env[name] = random_secrets.token_urlsafe(48)  # a value like the real, random ones
    return env


def service_settings(env: dict[str, str]) -> Settings:
    # Exactly this environment: nothing from the test runner's own (ENVIRONMENT=local etc.).
    with mock.patch.dict("os.environ", env, clear=True):
        return Settings()


@pytest.mark.parametrize("role", ROLES)
def test_every_container_starts_the_services_settings(
    every_origin: EvaluatedStack, role: str
) -> None:
    settings = service_settings(container_process_env(every_origin, role))
    assert settings.environment == every_origin.config.environment
    assert settings.database_url.startswith("postgresql+psycopg://")
    if role == "api":
        missing = settings.missing_api_settings()
        assert missing is None, f"python -m service api would refuse: {missing}"


def test_the_api_trusts_the_vpc_and_cloudfront_in_both_origin_modes(
    stack: EvaluatedStack, variant: Callable[..., EvaluatedStack]
) -> None:
    # The ALB appends the CloudFront node's address with a VPC origin as with a public ALB
    # (test_client_address.py builds that chain and checks the throttle keys on the viewer).
    for shape in (stack, public_origin(variant)):
        trusted = service_settings(container_process_env(shape, "api")).trusted_proxies
        assert trusted == [ip_network(shape.config.vpc_cidr)] + [
            ip_network(cidr) for cidr in CLOUDFRONT_ORIGIN_FACING_CIDRS
        ], "from the prefix-list lookup's answer, in order"
    for role in ("worker", "migrate"):
        assert "TRUSTED_PROXIES" not in environment(stack, role), "only the api serves HTTP"


def client_seen_by_the_app(trusted: list[str], peer: str, forwarded_for: str) -> str:
    """The client address uvicorn's proxy-header middleware (what service.server.serve enables
    with these ranges) hands to the application."""
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["client"][0])

    middleware = ProxyHeadersMiddleware(app, trusted_hosts=trusted)
    scope = {
        "type": "http",
        "scheme": "http",
        "client": (peer, 40_000),
        "headers": [(b"x-forwarded-for", forwarded_for.encode())],
    }
    # Its own loop, never installed as the thread's current one: asyncio.run would leave the
    # main thread without a loop, and Pulumi's later evaluations in this session need one.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(middleware(scope, None, None))  # type: ignore[arg-type]
    finally:
        loop.close()
    return str(seen[0])


def test_the_viewer_is_the_client_behind_cloudfront_and_a_public_alb(
    variant: Callable[..., EvaluatedStack],
) -> None:
    public = public_origin(variant)
    settings = service_settings(container_process_env(public, "api"))
    trusted = [str(network) for network in settings.trusted_proxies]
    alb_node = str(next(ip_network(public.config.vpc_cidr).hosts()))
    edge = str(next(ip_network(CLOUDFRONT_ORIGIN_FACING_CIDRS[0]).hosts()))
    spoofed = "198.51.100.1"
    chain = f"{spoofed}, {VIEWER}, {edge}"  # the caller's own entry, CloudFront's, the ALB's
    assert client_seen_by_the_app(trusted, alb_node, chain) == VIEWER
    # CONTROL: trusting only the VPC, the CloudFront edge is taken for the client.
    vpc_only = [str(settings.trusted_proxies[0])]
    assert client_seen_by_the_app(vpc_only, alb_node, chain) == edge
    assert ip_address(edge) in ip_network(CLOUDFRONT_ORIGIN_FACING_CIDRS[0])


def test_control_the_api_without_trusted_proxies_is_refused(stack: EvaluatedStack) -> None:
    """The check above can fail: the definition as it was before TRUSTED_PROXIES was set."""
    env = container_process_env(stack, "api")
    del env["TRUSTED_PROXIES"]
    missing = service_settings(env).missing_api_settings()
    assert missing is not None
    assert "TRUSTED_PROXIES is required" in missing
    # and without ENVIRONMENT the settings do not even validate, naming the variable.
    del env["ENVIRONMENT"]
    with pytest.raises(ValidationError, match="environment"):
        service_settings(env)
