"""Both stacks (and a few variants) evaluated once per session under Pulumi's mocks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.utils.stacks import STAGING_DIGEST, evaluated
from tools.plan.offline import EvaluatedStack, evaluate_stack

__all__ = ["STAGING_DIGEST"]


@pytest.fixture(scope="session")
def staging() -> EvaluatedStack:
    return evaluated("staging")


@pytest.fixture(scope="session")
def prod() -> EvaluatedStack:
    return evaluated("prod")


@pytest.fixture(scope="session", params=["staging", "prod"])
def stack(request: pytest.FixtureRequest) -> EvaluatedStack:
    """Each test taking `stack` runs once per real stack."""
    return request.getfixturevalue(request.param)


_variants: dict[tuple[str, tuple[tuple[str, str | None], ...]], EvaluatedStack] = {}


@pytest.fixture(scope="session")
def variant() -> Callable[..., EvaluatedStack]:
    """Evaluates a stack with overridden settings, once per distinct combination."""

    def evaluate(stack: str, **settings: str | None) -> EvaluatedStack:
        overrides = tuple(sorted((f"shipyard:{k}", v) for k, v in settings.items()))
        key = (stack, overrides)
        if key not in _variants:
            _variants[key] = evaluate_stack(stack, dict(overrides))
        return _variants[key]

    return evaluate


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws warns at import about its own deprecated aliases; nothing here uses them.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")


def public_origin(variant: Callable[..., EvaluatedStack]) -> EvaluatedStack:
    """Staging with `alb_origin: public` (and what that mode needs): the third network shape."""
    return variant(
        "staging",
        alb_origin="public",
        origin_verify_secret="origin-verify-secret-0123456789abcdefghij",
        domain_name="shop.example.com",
        hosted_zone_id="Z0123456789ABC",
    )


@pytest.fixture(scope="module", params=["staging", "prod", "public-origin"])
def every_origin(request: pytest.FixtureRequest) -> EvaluatedStack:
    """Each way a viewer reaches the api: staging's and prod's files, and a public ALB origin."""
    if request.param == "public-origin":
        return public_origin(request.getfixturevalue("variant"))
    stack: EvaluatedStack = request.getfixturevalue(request.param)
    return stack
