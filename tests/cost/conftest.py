"""Stacks evaluated once per session for the cost tests; prices read straight from offer files,
so an expected cost never comes from the estimator under test.

Two kinds of offer files:
- RECORDED (scripts/cost/recorded_offers): AWS's own files, verbatim (SOURCES.md says whose and
  of which date). The committed price file is made from these alone.
- SYNTHETIC (tests/cost/synthetic_offers): invented test data in AWS's format for the offers no
  real file could be recorded for here (SKUs `SYNTHETIC…`, prices not AWS's). They only let the
  tests check the estimator's arithmetic and the parser's rules on those services; nothing made
  from them is committed as a price.
The tests' price book (`prices_dir_for_tests`) is the refresh command's output over both: the
recorded file for an offer where there is one, the synthetic one elsewhere.
"""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.utils.stacks import STAGING_DIGEST, evaluated
from tools.plan.offline import EvaluatedStack, evaluate_stack

RECORDED = Path(__file__).resolve().parents[2] / "scripts" / "cost" / "recorded_offers"
SYNTHETIC = Path(__file__).resolve().parent / "synthetic_offers"
HOURS = Decimal(730)


def offer_path(offer_code: str, where: str = "us-east-1") -> Path:
    """The recorded (AWS's) offer file if there is one, else the synthetic test one."""
    recorded = RECORDED / where / f"{offer_code}.json"
    return recorded if recorded.is_file() else SYNTHETIC / where / f"{offer_code}.json"


@cache
def _offer(offer_code: str, where: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(offer_path(offer_code, where).read_text())
    return document


def offers_loader_for_tests() -> Any:
    """The refresh command's loader over the recorded offer files, then the synthetic ones. An
    offer recorded only as GetProducts answers (a few of its products) is read from its
    synthetic file, which has every product the tests price (test_refresh_prices reads the
    recorded answers themselves)."""
    from scripts.cost.offer_files import OfferMissingError, RecordedAnswers
    from scripts.cost.refresh import directory_loader

    recorded, synthetic = directory_loader(RECORDED), directory_loader(SYNTHETIC)

    def load(offer_code: str, region: str | None) -> Any:
        try:
            offer = recorded(offer_code, region)
        except OfferMissingError:
            return synthetic(offer_code, region)
        return synthetic(offer_code, region) if isinstance(offer, RecordedAnswers) else offer

    return load


@cache
def prices_dir_for_tests() -> Path:
    """A price file made by the refresh command from the tests' offers, in a directory of its
    own, for `estimate_stack(..., prices_dir=...)`."""
    from scripts.cost.refresh import refresh

    document = refresh(
        "us-east-1",
        offers_loader_for_tests(),
        source="tests: recorded AWS offer files where recorded, synthetic test offers elsewhere",
    )
    directory = Path(tempfile.mkdtemp(prefix="cost-test-prices-"))
    (directory / "us-east-1.json").write_text(json.dumps(document))
    return directory


def excerpt_price(offer_code: str, where: str = "us-east-1", tier: int = 0, **attributes: str):
    """USD per unit of the one product with these attributes in the tests' offer file for
    `offer_code` (AWS's recorded file where there is one, else the synthetic one)."""
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
    """`stack` with settings overridden; with none, the session's one evaluation of it
    (tests.utils.stacks), shared with tests/platform_program and tests/iam_behaviour."""
    if not settings:
        return evaluated(stack)
    overrides = {f"shipyard:{k}": v for k, v in settings.items()}
    if stack == "prod":
        overrides.setdefault("shipyard:image_ref", STAGING_DIGEST)
    return evaluate_stack(stack, overrides)


@pytest.fixture(scope="session")
def prod() -> EvaluatedStack:
    return evaluated("prod")


@pytest.fixture(scope="session")
def staging() -> EvaluatedStack:
    return evaluated("staging")


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws warns at import about its own deprecated aliases; nothing here uses them.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
