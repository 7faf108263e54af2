"""The bootstrap evaluated under mocks (one account, and two), as the trust tests read it."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from scripts.github_setup.wiring import Wiring, build_wiring
from scripts.trust.check import CiRole
from tools.plan.offline import EvaluatedBootstrap, evaluate_bootstrap

REPOSITORY = "shipyard-org/shipyard"  # Pulumi.shipyard.yaml's github_repository
PREFIX = "repo:shipyard-org/shipyard"  # and its github_sub_claim_prefix (a legacy repository)
REVIEWERS = ("user:release-manager",)


def ci_roles(*bootstraps: EvaluatedBootstrap) -> list[CiRole]:
    """Every IAM role the bootstrap declares, with its trust policy as AWS would store it."""
    return [
        CiRole(
            arn=role.state["arn"],
            trust=json.loads(role.inputs["assumeRolePolicy"]),
            max_session_seconds=int(role.inputs.get("maxSessionDuration", 3600)),
        )
        for bootstrap in bootstraps
        for role in bootstrap.of_type("aws:iam/role:Role")
    ]


@pytest.fixture(scope="session")
def bootstrap() -> EvaluatedBootstrap:
    return evaluate_bootstrap("shipyard")


_variants: dict[tuple[tuple[str, str | None], ...], EvaluatedBootstrap] = {}


@pytest.fixture(scope="session")
def bootstrap_variant() -> Callable[..., EvaluatedBootstrap]:
    def evaluate(**settings: str | None) -> EvaluatedBootstrap:
        key = tuple(sorted((f"shipyard-bootstrap:{k}", v) for k, v in settings.items()))
        if key not in _variants:
            _variants[key] = evaluate_bootstrap("shipyard", dict(key))
        return _variants[key]

    return evaluate


@pytest.fixture(scope="session")
def wiring(bootstrap: EvaluatedBootstrap) -> Wiring:
    return build_wiring(REPOSITORY, [bootstrap.outputs], reviewers=REVIEWERS)


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws warns at import about its own deprecated aliases; nothing here uses them.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
