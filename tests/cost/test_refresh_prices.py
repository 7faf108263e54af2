"""`python -m scripts.cost refresh-prices`: the offer-file parser, run on AWS's own offer file
recorded in scripts/cost/recorded_offers (AmazonECS, us-east-1, published 2025-08-28; see its
SOURCES.md), and on synthetic offers (tests/cost/synthetic_offers, invented, labelled) for the
rules that file has no case of (Linux vs Windows EC2 hours, RDS deployment options, tiers).

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
from tests.cost.conftest import (
    RECORDED,
    SYNTHETIC,
    excerpt_price,
    offer_path,
    offers_loader_for_tests,
    prices_dir_for_tests,
)

ECS_SKUS = {  # AWS's SKUs in the recorded AmazonECS us-east-1 file, version 20250828172723
    "fargate_vcpu_hour:X86_64": "8CESGAFWKAJ98PME",
    "fargate_gb_hour:X86_64": "PBZNQUSEXZUC34C9",
    "fargate_vcpu_hour:ARM64": "XSZATS4VYMDC9CYN",
    "fargate_gb_hour:ARM64": "UNH9KPQP7W7C66C9",
}


def _offer(code: str, where: str = "us-east-1") -> dict:
    return json.loads(offer_path(code, where).read_text())


def _recorded_ecs() -> dict:
    return json.loads((RECORDED / "us-east-1" / "AmazonECS.json").read_text())


def test_the_committed_price_file_is_what_the_parser_makes_of_the_recorded_excerpts():
    made = refresh("us-east-1", directory_loader(RECORDED), source="x", allow_missing=True)
    committed = json.loads((PRICES_DIR / "us-east-1.json").read_text())

    assert made["prices"] == committed["prices"]
    assert made["not_recorded"] == committed["not_recorded"]
    assert "recorded excerpts of AWS's offer files" in committed["source"]
    assert "refresh-prices" in committed["source"]


def test_the_recorded_offers_are_aws_files_never_synthetic_ones():
    recorded = sorted(RECORDED.rglob("*.json"))
    assert recorded
    sources = (RECORDED / "SOURCES.md").read_text()
    for path in recorded:
        text = path.read_text()
        assert "SYNTHETIC" not in text, path
        assert "RECORDED0" not in text, path
        assert f"{path.parent.name}/{path.name}" in sources, f"{path} has no line in SOURCES.md"
        offer = json.loads(text)
        if path.parent.name == "getproducts":  # recorded GetProducts answers: PriceList items
            assert isinstance(offer, list), path
            assert offer, path
            for item in offer:
                assert set(item) >= {"product", "serviceCode", "terms", "version"}, path
                assert item["version"] in sources, f"{path}: {item['version']}"
            continue
        assert offer["disclaimer"].startswith("This pricing list is for informational purposes")
        assert offer["version"] in sources
    # control: the synthetic test offers say what they are
    for path in SYNTHETIC.rglob("*.json"):
        assert json.loads(path.read_text())["version"] == "synthetic", path


def test_refresh_writes_a_dated_price_file_with_each_prices_source(tmp_path, capsys):
    argv = ["--offers-dir", str(RECORDED), "--allow-missing-offers", "--output-dir", str(tmp_path)]
    assert main(argv) == 0

    written = json.loads((tmp_path / "us-east-1.json").read_text())
    assert written["region"] == "us-east-1"
    assert written["generated_on"]
    vcpu = written["prices"]["fargate_vcpu_hour:X86_64"]
    assert vcpu["offer_code"] == "AmazonECS"
    assert vcpu["sku"] == "8CESGAFWKAJ98PME"
    assert vcpu["unit"] == "hours"
    assert vcpu["tiers"][0]["usd"] == "0.04048"
    assert vcpu["tiers"][0]["rate_code"] == "8CESGAFWKAJ98PME.JRTCKXETXF.6YS6EN2CT7"
    assert vcpu["offer_version"] == "20250828172723"
    assert vcpu["publication_date"] == "2025-08-28T17:27:23Z"
    assert written["not_recorded"]["rds_postgresql:Multi-AZ"] == (
        "no AWS offer file for AmazonRDS (us-east-1) recorded"
    )
    assert capsys.readouterr().out.startswith("wrote ")


def test_fargate_prices_come_from_awss_file_not_its_windows_arm_or_storage_products():
    prices = select_prices(_recorded_ecs(), needs_of("AmazonECS"), "us-east-1")

    assert {key: entry["sku"] for key, entry in prices.items()} == ECS_SKUS
    assert prices["fargate_gb_hour:ARM64"]["tiers"][0]["usd"] == "0.00356"
    assert prices["fargate_vcpu_hour:ARM64"]["usage_type"] == "USE1-Fargate-ARM-vCPU-Hours:perCPU"


def test_without_allow_missing_an_absent_offer_file_is_an_error(tmp_path, capsys):
    assert main(["--offers-dir", str(RECORDED), "--output-dir", str(tmp_path)]) == 1
    assert "error: no offer file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # AWS's own sources are whole: no gaps allowed
        main(["--allow-missing-offers", "--output-dir", str(tmp_path)])
    assert refused.value.code == 2


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


VCPU = "8CESGAFWKAJ98PME"  # Fargate x86 vCPU-hours in AWS's recorded file


def test_a_price_whose_unit_changed_is_refused():
    offer = copy.deepcopy(_recorded_ecs())
    for dimension in offer["terms"]["OnDemand"][VCPU][f"{VCPU}.JRTCKXETXF"][
        "priceDimensions"
    ].values():
        dimension["unit"] = "Minutes"

    with pytest.raises(OfferFileError, match=r"fargate_vcpu_hour:X86_64.*'Minutes'.*'hours'"):
        select_prices(offer, needs_of("AmazonECS"), "us-east-1")


def test_two_products_for_one_price_are_refused_not_picked_at_random():
    offer = copy.deepcopy(_recorded_ecs())
    twin = copy.deepcopy(offer["products"][VCPU]) | {"sku": "TWIN000000000000"}
    offer["products"]["TWIN000000000000"] = twin

    with pytest.raises(OfferFileError, match="2 products for `fargate_vcpu_hour:X86_64`"):
        select_prices(offer, needs_of("AmazonECS"), "us-east-1")


def test_a_price_missing_from_the_offer_names_the_need_to_update():
    offer = copy.deepcopy(_recorded_ecs())
    del offer["products"][VCPU]

    with pytest.raises(OfferFileError, match="no product for `fargate_vcpu_hour:X86_64`"):
        select_prices(offer, needs_of("AmazonECS"), "us-east-1")


def test_another_regions_products_are_not_taken_for_this_region():
    with pytest.raises(OfferFileError, match="regionCode='eu-west-1'"):
        select_prices(_recorded_ecs(), needs_of("AmazonECS"), "eu-west-1")


def test_the_free_tier_is_left_out_and_volume_tiers_apply():
    # synthetic offers: no AWS file with free and volume tiers is recorded here
    book = load_price_book("us-east-1", prices_dir_for_tests())

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


def test_refresh_without_any_offer_file_fails_with_a_clear_error(tmp_path, capsys):
    assert main(["--offers-dir", str(tmp_path), "--output-dir", str(tmp_path)]) == 1
    assert "error: no offer file" in capsys.readouterr().err


def test_the_pricing_api_path_reads_the_same_prices_through_get_products():
    """GetProducts answers (botocore's own model, stubbed) built from the tests' offers (AWS's
    recorded AmazonECS file, synthetic ones for the rest): each PriceList item is one product
    with its terms, as a JSON string, as the API returns them."""
    import boto3
    from botocore.stub import Stubber

    from scripts.cost.price_needs import offers_needed
    from scripts.cost.pricing_api import _filters, pricing_api_loader

    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    calls = 0
    for code in offers_needed():  # the calls' order: each distinct filter set of a need, once
        asked: list[list[dict[str, str]]] = []
        for need in needs_of(code):
            filters = _filters(need, "us-east-1" if need.regional else None)
            if filters not in asked:
                asked.append(filters)
        offer = _offer(code, "us-east-1" if needs_of(code)[0].regional else "global")
        for filters in asked:
            wanted = {f["Field"]: f["Value"] for f in filters}
            items = []
            for sku, product in offer["products"].items():
                seen = {**product["attributes"], "productFamily": product.get("productFamily")}
                if all(seen.get(k) == v for k, v in wanted.items()):
                    items.append(json.dumps({
                        "product": product, "serviceCode": code,
                        "terms": {"OnDemand": offer["terms"]["OnDemand"][sku]},
                        "version": offer["version"], "publicationDate": offer["publicationDate"],
                    }))  # fmt: skip
            stubber.add_response(
                "get_products",
                {"PriceList": items, "FormatVersion": "aws_v1"},
                {"ServiceCode": code, "Filters": filters, "FormatVersion": "aws_v1"},
            )
            calls += 1
    # Fargate's four prices differ only in usage type: one query answers them all.
    assert calls < len([n for code in offers_needed() for n in needs_of(code)])
    with stubber:
        made = refresh("us-east-1", pricing_api_loader(client), source="api")
    stubber.assert_no_pending_responses()

    from_files = refresh("us-east-1", offers_loader_for_tests(), source="files")
    assert made["prices"] == from_files["prices"]
    assert made["prices"]["fargate_vcpu_hour:X86_64"]["sku"] == VCPU


# --- recorded GetProducts answers (scripts/cost/recorded_offers/us-east-1/getproducts) ----------
# AWS's items as TypeOneLabs/tellury recorded them from the live API (SOURCES.md): the real
# excerpt the parser is run on here, never an invented one.

ANSWERS = RECORDED / "us-east-1" / "getproducts"


def _recorded_answer_items(name: str) -> list[dict]:
    return json.loads((ANSWERS / name).read_text())


def test_recorded_answers_give_awss_public_ipv4_gp3_and_t3_medium_prices():
    made = refresh("us-east-1", directory_loader(RECORDED), source="x", allow_missing=True)
    prices = made["prices"]

    ipv4 = prices["public_ipv4_hour"]
    assert (ipv4["offer_code"], ipv4["sku"], ipv4["unit"]) == (
        "AmazonVPC", "4GQUNXTFWVSGPUZK", "Hrs",
    )  # fmt: skip
    assert (ipv4["offer_version"], ipv4["publication_date"]) == (
        "20260724154225", "2026-07-24T15:42:25Z",
    )  # fmt: skip
    assert ipv4["usage_type"] == "USE1-PublicIPv4:InUseAddress"  # not the idle address's SKU
    assert ipv4["tiers"] == [{
        "rate_code": "4GQUNXTFWVSGPUZK.JRTCKXETXF.6YS6EN2CT7", "begin": "0", "end": "Inf",
        "usd": "0.005", "description": "$0.005 per In-use public IPv4 address per hour",
    }]  # fmt: skip
    gp3 = prices["ebs_gp3_gb_month"]
    assert (gp3["sku"], gp3["tiers"][0]["usd"], gp3["offer_version"]) == (
        "JG3KUJMBRGHV3N8G", "0.08", "20260810215758",
    )  # fmt: skip
    t3 = prices["ec2_linux_hour:t3.medium"]
    assert (t3["sku"], t3["tiers"][0]["usd"], t3["unit"]) == ("NN4EGUUQRWVYP98C", "0.0416", "Hrs")
    # eu-west-1's items in the same answer are not taken for us-east-1 (control: they exist)
    items = _recorded_answer_items("tellury-getproducts-recorded.json")
    assert any(i["product"]["attributes"]["regionCode"] == "eu-west-1" for i in items)
    assert all(p["region"] == "us-east-1" for p in prices.values())


def test_what_the_recorded_answers_do_not_hold_is_not_recorded_never_guessed():
    made = refresh("us-east-1", directory_loader(RECORDED), source="x", allow_missing=True)

    for key in ("nat_gateway_hour", "nat_gateway_gb", "vpc_endpoint_hour"):
        assert key not in made["prices"]
        assert "in the recorded GetProducts answers" in made["not_recorded"][key]
    # a family: t3.medium is priced, every other instance type is not recorded
    assert "only t3.medium of `ec2_linux_hour`" in made["not_recorded"]["ec2_linux_hour"]
    assert not any(k.startswith("ec2_linux_hour:") and k != "ec2_linux_hour:t3.medium"
                   for k in made["prices"])  # fmt: skip
    # without --allow-missing-offers a need the answers lack is an error naming it
    recorded, synthetic = directory_loader(RECORDED), directory_loader(SYNTHETIC)

    def ec2_from_the_answers(code: str, region: str | None) -> object:
        return (recorded if code == "AmazonEC2" else synthetic)(code, region)

    with pytest.raises(OfferFileError, match="no product for `nat_gateway_hour`"):
        refresh("us-east-1", ec2_from_the_answers, source="x")


def test_recorded_answer_items_of_two_publications_are_refused(tmp_path):
    from scripts.cost.offer_files import offer_from_price_list

    items = _recorded_answer_items("tellury-getproducts-recorded.json")
    ec2 = [i for i in items if i["serviceCode"] == "AmazonEC2"]
    assert offer_from_price_list("AmazonEC2", ec2)["version"] == "20260810215758"  # control
    older = copy.deepcopy(ec2[0])
    older["product"]["sku"], older["version"] = "OLDER", "20260101000000"
    with pytest.raises(OfferFileError, match="2 publications"):
        offer_from_price_list("AmazonEC2", [*ec2, older])
    # the live API's form, JSON strings, reads the same as the recorded decoded items
    as_strings = offer_from_price_list("AmazonEC2", [json.dumps(i) for i in ec2])
    assert as_strings == offer_from_price_list("AmazonEC2", ec2)
