"""`python -m scripts.cost refresh-prices`: rewrite prices/<region>.json from AWS's offer files.

    python -m scripts.cost refresh-prices --region us-east-1          # the bulk API (internet)
    python -m scripts.cost refresh-prices --offers-dir DIR            # offer files already here
    python -m scripts.cost refresh-prices --pricing-api               # GetProducts (credentials)

With `--offers-dir`, the offer files are read from `DIR/<region>/<offer>.json` and, for global
offers (CloudFront), `DIR/global/<offer>.json`: how the committed price file was made from the
recorded excerpts in scripts/cost/recorded_offers/, and how the tests exercise this parser.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import urllib.error
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from scripts.cost.offer_files import OfferFileError, download_offer, read_offer, select_prices
from scripts.cost.price_book import PRICES_DIR, price_file
from scripts.cost.price_needs import needs_of, offers_needed
from scripts.cost.pricing_api import pricing_api_loader

OfferLoader = Callable[[str, str | None], Any]  # (offer code, region or None for global) -> file


def refresh(
    region: str, load: OfferLoader, *, source: str, today: dt.date | None = None
) -> dict[str, Any]:
    """The price file's document for `region`, every need met from the offers `load` returns."""
    prices: dict[str, Any] = {}
    for offer_code in offers_needed():
        needs = needs_of(offer_code)
        regional = needs[0].regional
        offer = load(offer_code, region if regional else None)
        prices.update(select_prices(offer, needs, region))
    return {
        "about": (
            "Prices the cost estimator uses (scripts/cost). Written by `python -m scripts.cost "
            "refresh-prices`; do not edit by hand. Free Tier allowances are not applied."
        ),
        "region": region,
        "generated_on": (today or dt.datetime.now(dt.UTC).date()).isoformat(),
        "source": source,
        "prices": dict(sorted(prices.items())),
    }


def directory_loader(directory: Path) -> OfferLoader:
    def load(offer_code: str, region: str | None) -> Any:
        path = directory / (region or "global") / f"{offer_code}.json"
        if not path.is_file():
            raise OfferFileError(f"no offer file {path}; download it from the bulk API first")
        return read_offer(path)

    return load


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.cost refresh-prices")
    parser.add_argument("--region", default="us-east-1", help="the stacks' region (aws:region)")
    parser.add_argument(
        "--offers-dir", type=Path, help="read offer files from DIR/<region>|global/<offer>.json"
    )
    parser.add_argument(
        "--pricing-api",
        action="store_true",
        help="read through the Price List Query API (GetProducts; needs AWS credentials)",
    )
    parser.add_argument("--output-dir", type=Path, default=PRICES_DIR)
    args = parser.parse_args(argv)
    if args.offers_dir:
        load, source = directory_loader(args.offers_dir), _describe_dir(args.offers_dir)
    elif args.pricing_api:
        load, source = pricing_api_loader(), "AWS Price List Query API (GetProducts)"
    else:
        load, source = download_offer, "AWS Price List bulk API (pricing.us-east-1.amazonaws.com)"
    try:
        document = refresh(args.region, load, source=source)
    except OfferFileError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    except BotoCoreError as problem:
        print(
            f"error: the Price List Query API failed ({problem}); check credentials",
            file=sys.stderr,
        )
        return 1
    except ClientError as problem:
        print(f"error: the Price List Query API refused: {problem}", file=sys.stderr)
        return 1
    except urllib.error.URLError as problem:
        print(
            f"error: cannot download the offer files ({problem.reason}); this needs internet "
            "access to pricing.us-east-1.amazonaws.com, or --offers-dir with files downloaded",
            file=sys.stderr,
        )
        return 1
    path = price_file(args.region, args.output_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}: {len(document['prices'])} prices, {source}")
    return 0


def _describe_dir(directory: Path) -> str:
    readme = directory / "README.md"
    recorded = readme.is_file() and "recorded excerpts" in readme.read_text(encoding="utf-8")
    shown = _shown(directory)
    if recorded:
        return (
            f"recorded excerpts of the offer files, {shown} (see its README.md); "
            "`python -m scripts.cost refresh-prices` with internet access replaces them"
        )
    return f"offer files read from {shown}"


def _shown(directory: Path) -> str:
    try:
        return str(directory.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(directory)
