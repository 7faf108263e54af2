"""The policy pack's tests take their resources from the mocked stacks."""

from __future__ import annotations

import pytest

from tools.plan.offline import EvaluatedStack, evaluate_stack

PROD_DIGEST = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shipyard@sha256:" + "cd" * 32


@pytest.fixture(scope="session")
def stacks() -> dict[str, EvaluatedStack]:
    return {
        "staging": evaluate_stack("staging"),
        "prod": evaluate_stack("prod", {"shipyard:image_ref": PROD_DIGEST}),
    }


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
