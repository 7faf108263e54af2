"""`python -m scripts.cost refresh-prices`: rewrite prices/<region>.json from AWS's offer files.

    python -m scripts.cost refresh-prices --region us-east-1          # the bulk API (internet)
    python -m scripts.cost refresh-prices --offers-dir DIR            # offer files already here
    python -m scripts.cost refresh-prices --pricing-api               # GetProducts (credentials)

With `--offers-dir`, the offer files are read from `DIR/<region>/<offer>.json` and, for global
offers (CloudFront), `DIR/global/<offer>.json`: how the committed price file was made from the
recorded excerpts in scripts/cost/recorded_offers/, and how the tests exercise this parser.

`DIR/<region>/getproducts/*.json` may hold recorded GetProducts answers (lists of PriceList
items): an offer with no file of its own is read from them, and a need they hold no product for
is *not recorded* (with `--allow-missing-offers`), as an offer with no file is.

`--allow-missing-offers` (only with `--offers-dir`): an offer with no file in DIR is not an
error; each price it would give is written under `not_recorded` with the reason, and the
estimator lists what needs it as *not priced (no recorded AWS price)*, never as $0 and never at
a price typed by hand. The recorded excerpts hold only what could be copied from AWS's own
files (see their SOURCES.md), so the committed price file is made this way.
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

from scripts.cost.offer_files import (
    PRICE_LIST_ANSWERS,
    OfferFileError,
    OfferMissingError,
    RecordedAnswers,
    download_offer,
    needs_held,
    read_offer,
    read_price_list_answers,
    select_prices,
)
from scripts.cost.price_book import PRICES_DIR, price_file
from scripts.cost.price_needs import PriceNeed, needs_of, offers_needed
from scripts.cost.pricing_api import pricing_api_loader

OfferLoader = Callable[[str, str | None], Any]  # (offer code, region or None for global) -> file


def refresh(
    region: str,
    load: OfferLoader,
    *,
    source: str,
    today: dt.date | None = None,
    allow_missing: bool = False,
) -> dict[str, Any]:
    """The price file's document for `region`, every need met from the offers `load` returns;
    with `allow_missing`, an offer `load` has no file for leaves its needs `not_recorded`."""
    prices: dict[str, Any] = {}
    not_recorded: dict[str, str] = {}
    for offer_code in offers_needed():
        needs = needs_of(offer_code)
        regional = needs[0].regional
        try:
            offer = load(offer_code, region if regional else None)
        except OfferMissingError:
            if not allow_missing:
                raise
            where = region if regional else "global"
            for need in needs:
                not_recorded[need.key] = f"no AWS offer file for {offer_code} ({where}) recorded"
            continue
        if isinstance(offer, RecordedAnswers):
            prices.update(_from_answers(offer, needs, region, allow_missing, not_recorded))
            continue
        prices.update(select_prices(offer, needs, region))
    document: dict[str, Any] = {
        "about": (
            "Prices the cost estimator uses (scripts/cost). Written by `python -m scripts.cost "
            "refresh-prices`; do not edit by hand. Free Tier allowances are not applied."
        ),
        "region": region,
        "generated_on": (today or dt.datetime.now(dt.UTC).date()).isoformat(),
        "source": source,
        "prices": dict(sorted(prices.items())),
    }
    if not_recorded:
        document["not_recorded"] = dict(sorted(not_recorded.items()))
    return document


def _from_answers(
    answers: RecordedAnswers,
    needs: list[PriceNeed],
    region: str,
    allow_missing: bool,
    not_recorded: dict[str, str],
) -> dict[str, Any]:
    """The prices recorded GetProducts answers hold; each need (or family member) they do not
    hold goes to `not_recorded` with the reason (an error without `allow_missing`)."""
    offer_code, files = answers.offer["offerCode"], ", ".join(answers.files)
    held = needs_held(answers.offer, needs, region)
    found = select_prices(answers.offer, held, region)
    for need in needs:
        if need in held and not need.key_attributes:
            continue
        if need in held:  # a family: only the members those calls asked for are priced
            members = sorted(
                key.removeprefix(need.key + ":") for key in found if key.startswith(need.key + ":")
            )
            missing = f"only {', '.join(members)} of `{need.key}` in the recorded answers"
        else:
            missing = f"no product for `{need.key}` in the recorded GetProducts answers"
            if not allow_missing:
                raise OfferMissingError(f"{offer_code}: {missing} ({files})")
        not_recorded[need.key] = (
            f"{missing} of {offer_code} ({files}); no AWS offer file for {offer_code} recorded"
        )
    return found


def directory_loader(directory: Path) -> OfferLoader:
    """`DIR/<region>|global/<offer>.json` (a whole offer file, or an excerpt of one) if there is
    one, else the offer's items in the recorded GetProducts answers of `DIR/<region>/getproducts/`
    (as `RecordedAnswers`: only the products those calls asked for)."""

    def load(offer_code: str, region: str | None) -> Any:
        where = directory / (region or "global")
        path = where / f"{offer_code}.json"
        if path.is_file():
            return read_offer(path)
        answers = read_price_list_answers(where / PRICE_LIST_ANSWERS, offer_code)
        if answers is None:
            raise OfferMissingError(f"no offer file {path}; download it from the bulk API first")
        return answers

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
    parser.add_argument(
        "--allow-missing-offers",
        action="store_true",
        help="with --offers-dir: write an offer with no file there as not recorded (not priced)",
    )
    parser.add_argument("--output-dir", type=Path, default=PRICES_DIR)
    args = parser.parse_args(argv)
    if args.allow_missing_offers and not args.offers_dir:
        parser.error("--allow-missing-offers goes with --offers-dir (AWS's own sources are whole)")
    if args.offers_dir:
        load, source = directory_loader(args.offers_dir), _describe_dir(args.offers_dir)
    elif args.pricing_api:
        load, source = pricing_api_loader(), "AWS Price List Query API (GetProducts)"
    else:
        load, source = download_offer, "AWS Price List bulk API (pricing.us-east-1.amazonaws.com)"
    try:
        document = refresh(
            args.region, load, source=source, allow_missing=args.allow_missing_offers
        )
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
    missing = len(document.get("not_recorded", {}))
    print(
        f"wrote {path}: {len(document['prices'])} prices"
        + (f", {missing} not recorded (not priced)" if missing else "")
        + f", {source}"
    )
    return 0


def _describe_dir(directory: Path) -> str:
    readme = directory / "README.md"
    recorded = readme.is_file() and "recorded excerpts" in readme.read_text(encoding="utf-8")
    shown = _shown(directory)
    if recorded:
        return (
            f"recorded excerpts of AWS's offer files, {shown} (origin and date of each in its "
            "SOURCES.md); `python -m scripts.cost refresh-prices` with internet access "
            "replaces them"
        )
    return f"offer files read from {shown}"


def _shown(directory: Path) -> str:
    try:
        return str(directory.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(directory)
