"""Reading AWS Price List offer files: the products a need asks for, with their on-demand prices.

The format, as AWS documents it ("Reading the service price list file for an AWS service",
AWS Billing user guide): `products` maps each SKU to `{sku, productFamily, attributes}`;
`terms.OnDemand.<sku>.<sku>.<offerTermCode>.priceDimensions.<rateCode>` holds
`{rateCode, description, beginRange, endRange, unit, pricePerUnit: {USD}}`, one dimension per
tier. The file names its `offerCode`, `version` and `publicationDate`.

GetProducts answers (the Price List Query API) hold the same products one at a time: each
`PriceList` item is `{product, serviceCode, terms, version, publicationDate}`, as a JSON string.
`offer_from_price_list` puts items of one offer back into the offer-file shape, so the live API
(scripts/cost/pricing_api.py) and recorded answers (`RecordedAnswers`) go through one parser.

The bulk API's addresses (no credentials needed):
  https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<offer>/current/<region>/index.json
  https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<offer>/current/index.json  (global)
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from scripts.cost.price_needs import PriceNeed

BULK_API = "https://pricing.us-east-1.amazonaws.com"


class OfferFileError(ValueError):
    """An offer file that does not hold what a need asks for, or is not an offer file."""


class OfferMissingError(OfferFileError):
    """No offer file at all for an offer (a directory of recorded excerpts lacks it)."""


# Recorded GetProducts answers of a region: `<offers dir>/<region>/getproducts/*.json`.
PRICE_LIST_ANSWERS = "getproducts"


@dataclass(frozen=True)
class RecordedAnswers:
    """An offer's products as recorded GetProducts answers hold them: only the products those
    calls asked for. A need they hold no product for is *not recorded*, not an offer that
    changed (as it would be in a whole offer file)."""

    offer: dict[str, Any]
    files: tuple[str, ...]


def offer_from_price_list(offer_code: str, items: Iterable[Any]) -> dict[str, Any]:
    """GetProducts `PriceList` items (JSON strings, as the API returns them, or those strings
    decoded, as recorded copies keep them) of `offer_code`, in the offer-file shape. Items of
    other offers are left out; items of one offer from two publications are refused (the prices
    would carry no single version and date)."""
    offer: dict[str, Any] = {"offerCode": offer_code, "products": {}, "terms": {"OnDemand": {}}}
    editions: set[tuple[str, str]] = set()
    for raw in items:
        item = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(item, dict) or not isinstance(item.get("product"), dict):
            raise OfferFileError(f"{offer_code}: a PriceList item without `product`: {raw!r:.80}")
        if item.get("serviceCode", offer_code) != offer_code:
            continue
        sku = item["product"]["sku"]
        offer["products"][sku] = item["product"]
        offer["terms"]["OnDemand"][sku] = (item.get("terms") or {}).get("OnDemand") or {}
        editions.add((str(item.get("version", "")), str(item.get("publicationDate", ""))))
    if len(editions) > 1:
        shown = ", ".join(f"{v} ({d})" for v, d in sorted(editions))
        raise OfferFileError(
            f"{offer_code}: the GetProducts items come from {len(editions)} publications "
            f"({shown}); read them again so they are of one"
        )
    if editions:
        ((offer["version"], offer["publicationDate"]),) = editions
    return offer


def read_price_list_answers(directory: Path, offer_code: str) -> RecordedAnswers | None:
    """The items of `offer_code` in the recorded GetProducts answers in `directory` (each file a
    JSON list of PriceList items), or None if none holds one."""
    items: list[Any] = []
    files: list[str] = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        answer = read_offer(path)
        if not isinstance(answer, list):
            raise OfferFileError(f"{path}: not a recorded GetProducts answer (a list of items)")
        mine = [i for i in answer if isinstance(i, dict) and i.get("serviceCode") == offer_code]
        if mine:
            items += mine
            files.append(path.name)
    if not items:
        return None
    return RecordedAnswers(offer_from_price_list(offer_code, items), tuple(files))


def needs_held(offer: Any, needs: Iterable[PriceNeed], region: str) -> list[PriceNeed]:
    """The needs `offer` has at least one product for."""
    products = list((offer.get("products") or {}).values())
    return [n for n in needs if any(_product_matches(p, n, region) for p in products)]


def offer_url(offer_code: str, region: str | None) -> str:
    where = f"current/{region}/index.json" if region else "current/index.json"
    return f"{BULK_API}/offers/v1.0/aws/{offer_code}/{where}"


def download_offer(offer_code: str, region: str | None, *, timeout: float = 600) -> Any:
    """One offer file from the bulk API, parsed in memory: AmazonEC2's regional file runs to
    gigabytes, so `--pricing-api` (server-side filters, credentials) is the lighter way."""
    url = offer_url(offer_code, region)
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - fixed https URL
        return json.load(response)


def read_offer(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as problem:
        raise OfferFileError(f"cannot read the offer file {path}: {problem}") from problem


def select_prices(offer: Any, needs: Iterable[PriceNeed], region: str) -> dict[str, dict[str, Any]]:
    """The price entries (key -> entry) of `needs` found in `offer`; every need must be met."""
    if not isinstance(offer, dict) or not isinstance(offer.get("products"), dict):
        raise OfferFileError("not an offer file: it has no `products` object")
    on_demand = (offer.get("terms") or {}).get("OnDemand") or {}
    found: dict[str, dict[str, Any]] = {}
    for need in needs:
        matches = [p for p in offer["products"].values() if _product_matches(p, need, region)]
        if not matches:
            raise OfferFileError(
                f"{need.offer_code}: no product for `{need.key}` ({_describe(need, region)}); "
                "the offer file changed: update scripts/cost/price_needs.py"
            )
        if not need.key_attributes and len(matches) > 1:
            skus = ", ".join(sorted(p["sku"] for p in matches))
            raise OfferFileError(
                f"{need.offer_code}: {len(matches)} products for `{need.key}` ({skus}); "
                "narrow its attributes in scripts/cost/price_needs.py"
            )
        for product in matches:
            key = ":".join([need.key, *(product["attributes"][a] for a in need.key_attributes)])
            if key in found:
                raise OfferFileError(
                    f"{need.offer_code}: two products for `{key}` "
                    f"({found[key]['sku']}, {product['sku']}); narrow the need's attributes"
                )
            found[key] = _entry(offer, on_demand, product, need, key, region)
    return found


def _product_matches(product: Any, need: PriceNeed, region: str) -> bool:
    attributes = product.get("attributes") or {}
    if need.product_family is not None and product.get("productFamily") != need.product_family:
        return False
    if need.regional and attributes.get("regionCode") != region:
        return False
    if any(attributes.get(name) != value for name, value in need.attributes.items()):
        return False
    if any(name not in attributes for name in need.key_attributes):
        return False
    return need.usage_type_matches(str(attributes.get("usagetype", "")))


def _describe(need: PriceNeed, region: str) -> str:
    parts = [f"productFamily={need.product_family!r}", f"usagetype ~ {need.usage_type!r}"]
    parts += [f"{k}={v!r}" for k, v in need.attributes.items()]
    if need.regional:
        parts.append(f"regionCode={region!r}")
    return ", ".join(parts)


def _entry(
    offer: dict[str, Any],
    on_demand: dict[str, Any],
    product: dict[str, Any],
    need: PriceNeed,
    key: str,
    region: str,
) -> dict[str, Any]:
    sku = product["sku"]
    terms = on_demand.get(sku) or {}
    if len(terms) != 1:
        raise OfferFileError(
            f"{need.offer_code}: SKU {sku} (`{key}`) has {len(terms)} on-demand terms, expected 1"
        )
    ((term_code, term),) = terms.items()
    tiers = []
    for rate_code, dimension in (term.get("priceDimensions") or {}).items():
        unit = dimension.get("unit")
        if unit != need.unit:
            raise OfferFileError(
                f"{need.offer_code}: SKU {sku} (`{key}`) is priced per {unit!r}, the estimator "
                f"expects {need.unit!r}; check the quantity it multiplies before changing the need"
            )
        try:
            usd = Decimal(dimension["pricePerUnit"]["USD"])
        except (KeyError, TypeError, InvalidOperation) as problem:
            raise OfferFileError(f"{sku}.{rate_code}: no USD price ({problem})") from problem
        tiers.append(
            {
                "rate_code": rate_code,
                "begin": dimension.get("beginRange", "0"),
                "end": dimension.get("endRange", "Inf"),
                "usd": _plain(usd),
                "description": dimension.get("description", ""),
            }
        )
    if not tiers:
        raise OfferFileError(f"{need.offer_code}: SKU {sku} (`{key}`) has no price dimension")
    tiers.sort(key=lambda tier: Decimal(tier["begin"]))
    return {
        "offer_code": offer.get("offerCode", need.offer_code),
        "offer_version": offer.get("version", ""),
        "publication_date": offer.get("publicationDate", ""),
        "region": region if need.regional else "global",
        "sku": sku,
        "offer_term_code": term.get("offerTermCode", term_code.rpartition(".")[2]),
        "usage_type": product["attributes"].get("usagetype", ""),
        "unit": need.unit,
        "tiers": tiers,
    }


def _plain(value: Decimal) -> str:
    """`0.0450000000` -> `0.045`: the offer file's 10 decimals without the trailing zeros."""
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".") or "0"
