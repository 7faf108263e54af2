"""The login throttle keys on the viewer, not on the CloudFront node in front of the ALB.

The header chain is built the way each hop writes it (CloudFront developer guide, "Request and
response behavior for custom origins", X-Forwarded-For; Elastic Load Balancing, "HTTP headers
and Application Load Balancers", X-Forwarded-For):

    viewer     sends whatever it likes, e.g. `X-Forwarded-For: 198.51.100.1` (forged)
    CloudFront appends the viewer's address:          `198.51.100.1, <viewer>`
    ALB        appends the address it got the request from, a CloudFront origin-facing node
               (the ALB's security group admits exactly that prefix list, with a VPC origin as
               with a public ALB):                    `198.51.100.1, <viewer>, <cloudfront node>`
    api        is reached by the ALB's node, an address inside the VPC.

The api then runs the service's real code: the uvicorn configuration service.server.serve builds
(proxy headers believed from Settings.trusted_proxies, the settings built from the container
definition the platform writes), loaded as uvicorn loads it, and
service.auth.dependencies.client_address, whose answer service.auth.throttle.keys_for turns into
the throttle keys.
"""

from __future__ import annotations

import asyncio
import secrets as random_secrets
from ipaddress import ip_network
from typing import Any
from unittest import mock

import httpx
import uvicorn
from fastapi import FastAPI

import service.server
from service.auth.dependencies import ClientAddress
from service.auth.throttle import keys_for
from service.core.config import Settings
from tests.platform_program.queries import environment, secrets
from tools.plan.offline import CLOUDFRONT_ORIGIN_FACING_CIDRS, EvaluatedStack

EMAIL = "owner@example.com"
FORGED = "198.51.100.1"
VIEWERS = ("203.0.113.7", "203.0.113.8")  # two people behind the same CloudFront node


def api_settings(stack: EvaluatedStack, **overrides: str) -> Settings:
    """The api's settings from its container definition (plus `overrides`, for the controls)."""
    env = {**environment(stack, "api"), **overrides}
    for name in secrets(stack, "api"):
        env[name] = random_secrets.token_urlsafe(48)
    with mock.patch.dict("os.environ", env, clear=True):
        return Settings()


def served_app(app: FastAPI, settings: Settings) -> Any:
    """The ASGI app exactly as `python -m service api` serves it: service.server.serve builds the
    uvicorn configuration (proxy headers, forwarded_allow_ips from TRUSTED_PROXIES), captured
    here instead of run, then loaded as uvicorn loads it (ProxyHeadersMiddleware around it)."""
    captured: list[uvicorn.Config] = []

    class CapturedServer:
        def __init__(self, config: uvicorn.Config, **_: Any) -> None:
            captured.append(config)

        def run(self) -> None:
            pass

    assert settings.web_concurrency == 1, "one process: serve() runs the server in-process"
    app.state.lifecycle = None
    with mock.patch.object(service.server, "DrainingServer", CapturedServer):
        service.server.serve(app, settings)
    (config,) = captured
    config.load()
    return config.loaded_app


def throttle_keys_seen_by_the_api(
    settings: Settings, *, peer: str, forwarded_for: str
) -> list[str]:
    """POST through the served app to a route using the service's ClientAddress dependency."""
    app = FastAPI()

    @app.post("/login")
    async def login(client: ClientAddress) -> list[str]:
        return [key.key for key in keys_for(settings, email=EMAIL, client=client)]

    transport = httpx.ASGITransport(app=served_app(app, settings), client=(peer, 40_000))

    async def post() -> list[str]:
        async with httpx.AsyncClient(transport=transport, base_url="http://alb") as http:
            answer = await http.post("/login", headers={"X-Forwarded-For": forwarded_for})
            answer.raise_for_status()
            return list(answer.json())

    # Its own loop, never installed as the thread's current one (Pulumi's later evaluations in
    # this session need the main thread's loop).
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(post())
    finally:
        loop.close()


def hosts(cidr: str) -> Any:
    return ip_network(cidr).hosts()


def through_cloudfront_and_alb(stack: EvaluatedStack, settings: Settings, viewer: str) -> list[str]:
    cloudfront_node = str(next(hosts(CLOUDFRONT_ORIGIN_FACING_CIDRS[0])))
    alb_node = str(next(hosts(str(stack.config.vpc_cidr))))
    chain = f"{FORGED}, {viewer}, {cloudfront_node}"
    return throttle_keys_seen_by_the_api(settings, peer=alb_node, forwarded_for=chain)


def test_login_throttle_keys_on_the_viewer(every_origin: EvaluatedStack) -> None:
    settings = api_settings(every_origin)
    for viewer in VIEWERS:
        keys = through_cloudfront_and_alb(every_origin, settings, viewer)
        assert keys == [f"pair:{viewer}|{EMAIL}", f"client:{viewer}", f"account:{EMAIL}"], (
            f"alb_origin={every_origin.config.alb_origin}: "
            f"TRUSTED_PROXIES={settings.trusted_proxies}"
        )


def test_control_trusting_only_the_vpc_keys_everyone_on_the_cloudfront_node(
    staging: EvaluatedStack,
) -> None:
    """What the api got before with alb_origin=vpc_origin: the VPC range alone. The ALB's entry
    (the CloudFront node) is then the rightmost untrusted address, one key for all its viewers."""
    assert staging.config.alb_origin == "vpc_origin"
    settings = api_settings(staging, TRUSTED_PROXIES=str(staging.config.vpc_cidr))
    seen = {tuple(through_cloudfront_and_alb(staging, settings, viewer)) for viewer in VIEWERS}
    (keys,) = seen  # both viewers share every key
    node = str(next(hosts(CLOUDFRONT_ORIGIN_FACING_CIDRS[0])))
    assert f"client:{node}" in keys


def test_a_caller_reaching_the_api_directly_is_not_believed(staging: EvaluatedStack) -> None:
    """Only trusted hops' X-Forwarded-For counts: a peer outside the trusted ranges is the
    client, whatever it claims (the fix must not widen trust to everyone)."""
    keys = throttle_keys_seen_by_the_api(
        api_settings(staging), peer="192.0.2.50", forwarded_for=VIEWERS[0]
    )
    assert "client:192.0.2.50" in keys
