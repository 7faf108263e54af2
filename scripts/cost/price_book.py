"""The committed price file the estimator reads: `scripts/cost/prices/<region>.json`.

Written only by `python -m scripts.cost refresh-prices` (never by hand): every price carries its
source (offer code, offer version and publication date, SKU, rate codes, unit, USD per tier).
A price the refresh had no AWS offer file for is listed under `not_recorded` with the reason:
what needs it is *not priced*, never $0 and never a price typed by hand.

Free Tier allowances are account-wide and may be used up already, so the estimate leaves them
out: a tier priced at $0 before the first paid tier is skipped and the paid tiers apply from the
first unit (stated in every estimate).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

PRICES_DIR = Path(__file__).resolve().parent / "prices"


class PriceBookError(LookupError):
    """No price file for a region (a price missing from it makes its item *not priced*)."""


@dataclass(frozen=True)
class Tier:
    begin: Decimal
    end: Decimal | None  # None: no upper bound ("Inf")
    usd: Decimal


@dataclass(frozen=True)
class Price:
    key: str
    unit: str
    sku: str
    offer_code: str
    tiers: tuple[Tier, ...]  # paid tiers only, the first starting at 0

    @property
    def unit_price(self) -> Decimal:
        return self.tiers[0].usd

    def cost(self, quantity: Decimal) -> Decimal:
        """`quantity` units priced through the tiers (volume tiers: S3, CloudFront, logs)."""
        total = Decimal(0)
        for tier in self.tiers:
            if quantity <= tier.begin:
                break
            upper = quantity if tier.end is None else min(quantity, tier.end)
            total += (upper - tier.begin) * tier.usd
        return total


@dataclass(frozen=True)
class PriceBook:
    region: str
    source: str
    generated_on: str
    publication_dates: dict[str, str]  # offer code -> its publication date
    prices: dict[str, Price]
    # need key (a price, or a family such as `rds_postgresql:Multi-AZ`) -> why it has no price
    not_recorded: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> Price | None:
        return self.prices.get(key)

    def not_recorded_reason(self, key: str) -> str | None:
        """Why `key` has no price, if the refresh recorded none for it (or for its family)."""
        for need_key, reason in self.not_recorded.items():
            if key == need_key or key.startswith(need_key + ":"):
                return reason
        return None

    def describe(self) -> str:
        dates = {d[:10] for d in self.publication_dates.values()}
        published = (
            dates.pop()
            if len(dates) == 1
            else ", ".join(f"{o} {d[:10]}" for o, d in sorted(self.publication_dates.items()))
        )
        missing = (
            f"; {len(self.not_recorded)} prices not recorded (their items are not priced)"
            if self.not_recorded
            else ""
        )
        return (
            f"AWS Price List, {self.region}, prices of {self.generated_on} ({self.source}); "
            f"offers published {published}{missing}"
        )


def price_file(region: str, directory: Path = PRICES_DIR) -> Path:
    return directory / f"{region}.json"


def load_price_book(region: str, directory: Path = PRICES_DIR) -> PriceBook:
    path = price_file(region, directory)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as missing:
        known = ", ".join(sorted(p.stem for p in directory.glob("*.json"))) or "none"
        raise PriceBookError(
            f"no prices for region {region} (have: {known}); run "
            f"`python -m scripts.cost refresh-prices --region {region}` on a machine with internet"
        ) from missing
    return parse_price_book(document)


def parse_price_book(document: dict[str, Any]) -> PriceBook:
    prices = {key: _price(key, entry) for key, entry in document["prices"].items()}
    dates = {e["offer_code"]: e["publication_date"] for e in document["prices"].values()}
    return PriceBook(
        region=document["region"],
        source=document["source"],
        generated_on=document["generated_on"],
        publication_dates=dates,
        prices=prices,
        not_recorded=dict(document.get("not_recorded") or {}),
    )


def _price(key: str, entry: dict[str, Any]) -> Price:
    tiers = [
        Tier(
            begin=Decimal(t["begin"]),
            end=None if t["end"] == "Inf" else Decimal(t["end"]),
            usd=Decimal(t["usd"]),
        )
        for t in entry["tiers"]
    ]
    # Free Tier allowances left out (module docstring): the paid tiers start at the first unit.
    while len(tiers) > 1 and tiers[0].usd == 0:
        shift = tiers[0].end or Decimal(0)
        tiers = [
            Tier(t.begin - shift, None if t.end is None else t.end - shift, t.usd)
            for t in tiers[1:]
        ]
    return Price(
        key=key,
        unit=entry["unit"],
        sku=entry["sku"],
        offer_code=entry["offer_code"],
        tiers=tuple(tiers),
    )
