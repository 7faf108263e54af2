"""`python -m scripts.cost refresh-prices`: the offer-file parser, run on the recorded excerpts.

The format is AWS's ("Reading the service price list file for an AWS service", AWS Billing user
guide): products keyed by SKU with productFamily and attributes; prices under
terms.OnDemand.<sku>.<sku>.<offerTermCode>.priceDimensions.<rateCode>.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from scripts.cost.offer_files import OfferFileError, select_prices
from scripts.cost.price_book import PRICES_DIR, load_price_book
from scripts.cost.price_needs import PriceNeed, needs_of
from scripts.cost.refresh import directory_loader, main, refresh
from tests.cost.conftest import RECORDED, excerpt_price


def _offer(code: str, where: str = "us-east-1") -> dict:
    return json.loads((RECORDED / where / f"{code}.json").read_text())


def test_the_committed_price_file_is_what_the_parser_makes_of_the_recorded_excerpts():
    made = refresh("us-east-1", directory_loader(RECORDED), source="x")
    committed = json.loads((PRICES_DIR / "us-east-1.json").read_text())

    assert made["prices"] == committed["prices"]
    assert "recorded excerpts" in committed["source"]
    assert "refresh-prices" in committed["source"]


def test_refresh_writes_a_dated_price_file_with_each_prices_source(tmp_path, capsys):
    assert main(["--offers-dir", str(RECORDED), "--output-dir", str(tmp_path)]) == 0

    written = json.loads((tmp_path / "us-east-1.json").read_text())
    assert written["region"] == "us-east-1"
    assert written["generated_on"]
    nat = written["prices"]["nat_gateway_hour"]
    assert nat["offer_code"] == "AmazonEC2"
    assert nat["sku"] == "M2YSHUBETB3JX4M4"
    assert nat["unit"] == "Hrs"
    assert nat["tiers"][0]["usd"] == "0.045"
    assert nat["tiers"][0]["rate_code"] == "M2YSHUBETB3JX4M4.JRTCKXETXF.6YS6EN2CT7"
    assert nat["publication_date"] == _offer("AmazonEC2")["publicationDate"]
    assert capsys.readouterr().out.startswith("wrote ")


def test_linux_on_demand_hours_are_not_taken_from_windows_or_reservation_products():
    prices = select_prices(_offer("AmazonEC2"), needs_of("AmazonEC2"), "us-east-1")

    linux = excerpt_price(
        "AmazonEC2", instanceType="t3.medium", operatingSystem="Linux", capacitystatus="Used"
    )
    windows = excerpt_price("AmazonEC2", instanceType="t3.medium", operatingSystem="Windows")
    assert Decimal(prices["ec2_linux_hour:t3.medium"]["tiers"][0]["usd"]) == linux != windows
    assert {k for k in prices if k.startswith("ec2_linux_hour:")} == {
        "ec2_linux_hour:t3.medium",
        "ec2_linux_hour:t3.large",
        "ec2_linux_hour:m7g.large",
    }


def test_rds_prices_are_postgresql_per_deployment_option_and_class():
    prices = select_prices(_offer("AmazonRDS"), needs_of("AmazonRDS"), "us-east-1")

    assert prices["rds_postgresql:Multi-AZ:db.m7g.large"]["usage_type"] == (
        "Multi-AZUsage:db.m7g.large"
    )
    assert prices["rds_postgresql:Single-AZ:db.t4g.micro"]["tiers"][0]["usd"] == "0.016"
    assert not [k for k in prices if "MySQL" in k]


@pytest.mark.parametrize(
    ("usage_type", "need_usage_type", "matches"),
    [
        ("USE1-Fargate-vCPU-Hours:perCPU", "Fargate-vCPU-Hours:perCPU", True),
        ("Fargate-vCPU-Hours:perCPU", "Fargate-vCPU-Hours:perCPU", True),
        ("us-east-1-KMS-Keys", "KMS-Keys", True),
        ("US-DataTransfer-Out-Bytes", "DataTransfer-Out-Bytes", True),
        # control: a longer usage type that merely ends the same way is another product
        ("USE1-SpotUsage-Fargate-vCPU-Hours:perCPU", "Fargate-vCPU-Hours:perCPU", False),
        ("USE1-Fargate-ARM-vCPU-Hours:perCPU", "Fargate-vCPU-Hours:perCPU", False),
        ("CW:HighResAlarmMonitorUsage", "CW:AlarmMonitorUsage", False),
        ("USE1-InstanceUsage:db.t4g.micro", "InstanceUsage:*", True),
        ("HostBoxUsage:t3.medium", "BoxUsage:*", False),
    ],
)
def test_usage_types_match_with_or_without_a_region_prefix_only(
    usage_type, need_usage_type, matches
):
    need = PriceNeed("k", "Offer", None, need_usage_type, "Hrs")
    assert need.usage_type_matches(usage_type) is matches


def test_a_price_whose_unit_changed_is_refused():
    offer = copy.deepcopy(_offer("AmazonEC2"))
    for dimension in offer["terms"]["OnDemand"]["M2YSHUBETB3JX4M4"]["M2YSHUBETB3JX4M4.JRTCKXETXF"][
        "priceDimensions"
    ].values():
        dimension["unit"] = "Minutes"

    with pytest.raises(OfferFileError, match=r"nat_gateway_hour.*'Minutes'.*'Hrs'"):
        select_prices(offer, needs_of("AmazonEC2"), "us-east-1")


def test_two_products_for_one_price_are_refused_not_picked_at_random():
    offer = copy.deepcopy(_offer("AmazonEC2"))
    twin = copy.deepcopy(offer["products"]["M2YSHUBETB3JX4M4"]) | {"sku": "TWIN000000000000"}
    offer["products"]["TWIN000000000000"] = twin

    with pytest.raises(OfferFileError, match="2 products for `nat_gateway_hour`"):
        select_prices(offer, needs_of("AmazonEC2"), "us-east-1")


def test_a_price_missing_from_the_offer_names_the_need_to_update():
    offer = copy.deepcopy(_offer("AmazonEC2"))
    del offer["products"]["M2YSHUBETB3JX4M4"]

    with pytest.raises(OfferFileError, match="no product for `nat_gateway_hour`"):
        select_prices(offer, needs_of("AmazonEC2"), "us-east-1")


def test_another_regions_products_are_not_taken_for_this_region():
    with pytest.raises(OfferFileError, match="regionCode='eu-west-1'"):
        select_prices(_offer("AmazonEC2"), needs_of("AmazonEC2"), "eu-west-1")


def test_the_free_tier_is_left_out_and_volume_tiers_apply():
    book = load_price_book("us-east-1")

    # SNS: the first million requests are a $0 tier in the offer; the estimate prices from 1.
    assert book.prices["sns_publish_request"].unit_price == excerpt_price(
        "AmazonSNS", tier=1, usagetype="Requests-Tier1"
    )
    s3 = book.prices["s3_standard_gb_month"]
    first = excerpt_price("AmazonS3", usagetype="TimedStorage-ByteHrs", tier=0)
    second = excerpt_price("AmazonS3", usagetype="TimedStorage-ByteHrs", tier=1)
    assert s3.cost(Decimal(52_200)) == 51_200 * first + 1_000 * second


def test_an_unknown_region_says_how_to_get_its_prices(capsys):
    from scripts.cost.price_book import PriceBookError

    with pytest.raises(PriceBookError, match="refresh-prices --region eu-west-1"):
        load_price_book("eu-west-1")


def test_refresh_without_the_offer_files_fails_with_a_clear_error(tmp_path, capsys):
    assert main(["--offers-dir", str(tmp_path), "--output-dir", str(tmp_path)]) == 1
    assert "error: no offer file" in capsys.readouterr().err


def test_the_pricing_api_path_reads_the_same_prices_through_get_products():
    """GetProducts answers (botocore's own model, stubbed) built from the recorded excerpts:
    each PriceList item is one product with its terms, as the API returns them."""
    import boto3
    from botocore.stub import Stubber

    from scripts.cost.price_needs import offers_needed
    from scripts.cost.pricing_api import _filters, pricing_api_loader

    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    for need in (n for code in offers_needed() for n in needs_of(code)):  # the calls' order
        where = "us-east-1" if need.regional else "global"
        offer = _offer(need.offer_code, where)
        items = []
        for sku, product in offer["products"].items():
            wanted = {
                f["Field"]: f["Value"]
                for f in _filters(need, "us-east-1" if need.regional else None)
            }
            seen = {**product["attributes"], "productFamily": product.get("productFamily")}
            if all(seen.get(k) == v for k, v in wanted.items()):
                items.append(json.dumps({
                    "product": product, "serviceCode": need.offer_code,
                    "terms": {"OnDemand": offer["terms"]["OnDemand"][sku]},
                    "version": offer["version"], "publicationDate": offer["publicationDate"],
                }))  # fmt: skip
        stubber.add_response(
            "get_products",
            {"PriceList": items, "FormatVersion": "aws_v1"},
            {
                "ServiceCode": need.offer_code,
                "Filters": _filters(need, "us-east-1" if need.regional else None),
                "FormatVersion": "aws_v1",
            },
        )
    with stubber:
        made = refresh("us-east-1", pricing_api_loader(client), source="api")
    stubber.assert_no_pending_responses()

    from_files = refresh("us-east-1", directory_loader(RECORDED), source="files")
    assert made["prices"] == from_files["prices"]
