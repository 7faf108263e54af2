"""The same offers read through the AWS Price List Query API (`pricing:GetProducts`), with AWS
credentials: `python -m scripts.cost refresh-prices --pricing-api`.

The bulk AmazonEC2 file for one region runs to gigabytes; GetProducts filters on the server
(TERM_MATCH on the need's product family and attributes), so only the products the estimator
needs come back. Each answer item is one product with its terms, as a JSON string (the API's
`PriceList`); they are put back together into the offer-file shape `select_prices` reads, so both
sources go through one parser (`offer_from_price_list`).
"""

from __future__ import annotations

from typing import Any

from scripts.cost.offer_files import offer_from_price_list
from scripts.cost.price_needs import PriceNeed, needs_of

# The Price List Query API is served from a few regions only; us-east-1 is one of them.
API_REGION = "us-east-1"


def _filters(need: PriceNeed, region: str | None) -> list[dict[str, str]]:
    wanted = dict(need.attributes)
    if need.product_family is not None:
        wanted["productFamily"] = need.product_family
    if region is not None:
        wanted["regionCode"] = region
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in sorted(wanted.items())]


def offer_from_pricing_api(offer_code: str, region: str | None, client: Any) -> dict[str, Any]:
    """The products of `offer_code` that its needs ask for, in the offer-file shape: one query
    per distinct filter set (needs told apart only by usage type, such as Fargate's four prices,
    share one)."""
    items: list[str] = []
    for filters in query_filters(offer_code, region):
        pages = client.get_paginator("get_products").paginate(
            ServiceCode=offer_code, Filters=filters, FormatVersion="aws_v1"
        )
        for page in pages:
            items += page["PriceList"]
    return offer_from_price_list(offer_code, items)


def query_filters(offer_code: str, region: str | None) -> list[list[dict[str, str]]]:
    """The GetProducts filter sets `offer_code`'s needs ask for, each once, in the needs' order."""
    distinct: dict[tuple[tuple[str, str], ...], list[dict[str, str]]] = {}
    for need in needs_of(offer_code):
        filters = _filters(need, region if need.regional else None)
        distinct.setdefault(tuple((f["Field"], f["Value"]) for f in filters), filters)
    return list(distinct.values())


def pricing_api_loader(client: Any = None) -> Any:
    if client is None:
        import boto3  # only this path needs it (and AWS credentials allowed pricing:GetProducts)

        client = boto3.client("pricing", region_name=API_REGION)

    def load(offer_code: str, region: str | None) -> dict[str, Any]:
        return offer_from_pricing_api(offer_code, region, client)

    return load
