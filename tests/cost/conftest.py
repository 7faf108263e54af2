"""Stacks evaluated once per session for the cost tests; prices read straight from the recorded
offer-file excerpts, so an expected cost never comes from the estimator under test."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.utils.stacks import STAGING_DIGEST
from tools.plan.offline import EvaluatedStack, evaluate_stack

RECORDED = Path(__file__).resolve().parents[2] / "scripts" / "cost" / "recorded_offers"
HOURS = Decimal(730)


@cache
def _offer(offer_code: str, where: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((RECORDED / where / f"{offer_code}.json").read_text())
    return document


def excerpt_price(offer_code: str, where: str = "us-east-1", tier: int = 0, **attributes: str):
    """USD per unit of the one product in the recorded excerpt with these attributes."""
    offer = _offer(offer_code, where)
    skus = [
        sku
        for sku, product in offer["products"].items()
        if all(product["attributes"].get(k) == v for k, v in attributes.items())
    ]
    assert len(skus) == 1, f"{offer_code} {attributes}: {skus}"
    (term,) = offer["terms"]["OnDemand"][skus[0]].values()
    dimensions = sorted(term["priceDimensions"].values(), key=lambda d: float(d["beginRange"]))
    return Decimal(dimensions[tier]["pricePerUnit"]["USD"])


@cache
def stack_with(stack: str, **settings: str) -> EvaluatedStack:
    overrides = {f"shipyard:{k}": v for k, v in settings.items()}
    if stack == "prod":
        overrides.setdefault("shipyard:image_ref", STAGING_DIGEST)
    return evaluate_stack(stack, overrides)


@pytest.fixture(scope="session")
def prod() -> EvaluatedStack:
    return stack_with("prod")


@pytest.fixture(scope="session")
def staging() -> EvaluatedStack:
    return stack_with("staging")


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws warns at import about its own deprecated aliases; nothing here uses them.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
