"""The AWS half on recorded answers: each check passes on a good account and fails on a bad one.

Answers are what the APIs return (botocore's Stubber checks each against AWS's API model); the
rules come from AWS's documentation, named at each test.
"""

from __future__ import annotations

import base64
import datetime
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from scripts.preflight import aws_checks
from scripts.preflight.stack_files import read_bootstrap_file, read_stack_file
from tests.preflight.support import (
    ACCOUNT,
    REGION,
    bootstrap_settings,
    settings,
    write_stack_files,
)

US_EAST_1_ZONES = [
    {"ZoneName": f"us-east-1{letter}", "ZoneId": f"use1-az{number}", "State": "available",
     "ZoneType": "availability-zone", "RegionName": REGION, "OptInStatus": "opt-in-not-required"}
    for letter, number in zip("abcdef", (6, 1, 2, 4, 3, 5), strict=True)
]  # fmt: skip


def _regions(*rows: tuple[str, str]) -> dict[str, Any]:
    return {
        "Regions": [
            {"RegionName": name, "Endpoint": f"ec2.{name}.amazonaws.com", "OptInStatus": status}
            for name, status in rows
        ]
    }


# --- account --------------------------------------------------------------------------------------


def test_account_passes_when_the_credentials_are_the_stacks_account():
    assert aws_checks.check_account(ACCOUNT, settings()).status == "ok"


def test_account_fails_when_the_credentials_are_for_another_account():
    result = aws_checks.check_account("999988887777", settings())
    assert result.failed
    assert f"workload_boundary_arn is in account {ACCOUNT}" in result.detail


# --- region and zones -----------------------------------------------------------------------------


def test_region_passes_when_enabled(stubbed):
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_regions",
        _regions((REGION, "opt-in-not-required"), ("af-south-1", "not-opted-in")),
        {"AllRegions": True},
    )
    assert aws_checks.check_region(ec2, REGION).status == "ok"


def test_region_fails_for_an_opt_in_region_the_account_has_not_enabled(stubbed):
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_regions",
        _regions((REGION, "opt-in-not-required"), ("af-south-1", "not-opted-in")),
        {"AllRegions": True},
    )
    result = aws_checks.check_region(ec2, "af-south-1")
    assert result.failed
    assert "not enabled" in result.detail
    assert "enable-region --region-name af-south-1" in result.fix


def test_region_fails_for_a_name_aws_does_not_have(stubbed):
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_regions", _regions((REGION, "opt-in-not-required")), {"AllRegions": True}
    )
    result = aws_checks.check_region(ec2, "us-east-9")
    assert result.failed
    assert "us-east-9 is not an AWS region" in result.detail


def test_regions_are_listed_from_a_region_every_account_has():
    assert aws_checks.region_for_listing("af-south-1") == "us-east-1"
    assert aws_checks.region_for_listing("us-gov-east-1") == "us-gov-west-1"


ZONE_FILTER = {"Filters": [{"Name": "zone-type", "Values": ["availability-zone"]}]}


def test_zones_pass_when_the_exclusions_exist_and_enough_zones_remain(stubbed):
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_availability_zones", {"AvailabilityZones": US_EAST_1_ZONES}, ZONE_FILTER
    )
    result = aws_checks.check_zones(ec2, settings())  # default exclusion in us-east-1: use1-az3
    assert result.status == "ok", result
    assert "excluded: use1-az3" in result.detail


def test_zones_fail_when_an_excluded_zone_id_is_not_in_the_region(stubbed):
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_availability_zones", {"AvailabilityZones": US_EAST_1_ZONES}, ZONE_FILTER
    )
    result = aws_checks.check_zones(ec2, settings(excluded_zone_ids=["use1-az9"]))
    assert result.failed
    assert "names use1-az9, which us-east-1 does not have" in result.detail


def test_zones_fail_when_the_exclusions_leave_too_few_zones(stubbed):
    ec2, stub = stubbed("ec2")
    zones = US_EAST_1_ZONES[:3]  # use1-az6, use1-az1, use1-az2
    stub.add_response("describe_availability_zones", {"AvailabilityZones": zones}, ZONE_FILTER)
    result = aws_checks.check_zones(
        ec2, settings(availability_zones=3, excluded_zone_ids=["use1-az1"])
    )
    assert result.failed
    assert "only 2 available zone(s)" in result.detail


# --- Lambda concurrency ---------------------------------------------------------------------------


def _account_settings(quota: int, unreserved: int) -> dict[str, Any]:
    return {
        "AccountLimit": {
            "TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000,
            "CodeSizeZipped": 52428800, "ConcurrentExecutions": quota,
            "UnreservedConcurrentExecutions": unreserved,
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
    }  # fmt: skip


FUNCTION = {"FunctionName": "shipyard-staging-order-alerts"}


def _unreserved_function(stubbed, *, quota: int, unreserved: int) -> Any:
    """A Lambda client for an account with this quota and `unreserved` left, asked about the
    alerts function, which holds no reservation yet."""
    client, stub = stubbed("lambda")
    stub.add_response("get_account_settings", _account_settings(quota, unreserved), {})
    stub.add_client_error(
        "get_function_concurrency",
        "ResourceNotFoundException",
        http_status_code=404,
        expected_params=FUNCTION,
    )
    return client


def test_lambda_concurrency_passes_with_nothing_reserved():
    # No call at all: the Stubber would fail the test on any.
    assert aws_checks.check_lambda_concurrency(object(), settings()).status == "ok"


def test_lambda_concurrency_passes_when_the_quota_leaves_100_unreserved(stubbed):
    client = _unreserved_function(stubbed, quota=1000, unreserved=1000)
    result = aws_checks.check_lambda_concurrency(client, settings(alerts_reserved_concurrency=5))
    assert result.status == "ok", result


def test_lambda_concurrency_fails_on_a_new_account_whose_quota_is_10(stubbed):
    # Lambda developer guide, "Configuring reserved concurrency": reserve at most the unreserved
    # concurrency minus 100; an account with a quota of 10 keeps all 10.
    client = _unreserved_function(stubbed, quota=10, unreserved=10)
    result = aws_checks.check_lambda_concurrency(client, settings(alerts_reserved_concurrency=5))
    assert result.failed
    assert "quota in us-east-1 is 10" in result.detail
    assert "room for 0" in result.detail
    assert "of at least 105" in result.fix
    assert aws_checks.LAMBDA_CONCURRENCY_QUOTA in result.fix


def test_lambda_concurrency_fails_when_other_reservations_leave_too_little(stubbed):
    client = _unreserved_function(stubbed, quota=1000, unreserved=103)
    result = aws_checks.check_lambda_concurrency(client, settings(alerts_reserved_concurrency=5))
    assert result.failed
    assert "room for 3" in result.detail
    assert "of at least 1002" in result.fix  # 897 reserved elsewhere + 5 + 100


def test_lambda_concurrency_counts_the_functions_own_reservation_on_a_rerun(stubbed):
    client, stub = stubbed("lambda")
    stub.add_response("get_account_settings", _account_settings(105, 100), {})
    stub.add_response("get_function_concurrency", {"ReservedConcurrentExecutions": 5}, FUNCTION)
    result = aws_checks.check_lambda_concurrency(client, settings(alerts_reserved_concurrency=5))
    assert result.status == "ok", result


def _two_functions(stubbed, unreserved: int) -> Any:
    """A Lambda client for an account with `unreserved` of 1000 left, asked about two functions
    of a user's declaration that hold no reservation yet."""
    client, stub = stubbed("lambda")
    stub.add_response("get_account_settings", _account_settings(1000, unreserved), {})
    for key in ("order-alerts", "order-receipts"):
        stub.add_client_error(
            "get_function_concurrency", "ResourceNotFoundException", http_status_code=404,
            expected_params={"FunctionName": f"shipyard-staging-{key}"},
        )  # fmt: skip
    return client


def test_lambda_concurrency_counts_every_declared_function(stubbed):
    # 5 and 3 on an account with room for 6: each function is asked for its own reservation,
    # the sum is what must fit, and both are named.
    reserved = {"order-alerts": 5, "order-receipts": 3}
    result = aws_checks.check_lambda_concurrency(_two_functions(stubbed, 106), settings(), reserved)
    assert result.failed
    assert "reserve 8 (order-alerts 5, order-receipts 3)" in result.detail
    assert "room for 6" in result.detail


def test_lambda_concurrency_every_declared_function_fits_control(stubbed):
    reserved = {"order-alerts": 5, "order-receipts": 3, "unreserved": None}
    result = aws_checks.check_lambda_concurrency(_two_functions(stubbed, 108), settings(), reserved)
    assert result.status == "ok", result


# --- hosted zone and certificates -----------------------------------------------------------------

ZONE_ID = "Z0123456789ABCDEFGHIJ"
DOMAIN = {"domain_name": "app.example.com", "hosted_zone_id": ZONE_ID}


def _zone(name: str = "example.com.", private: bool = False) -> dict[str, Any]:
    return {
        "HostedZone": {
            "Id": f"/hostedzone/{ZONE_ID}", "Name": name, "CallerReference": "2026-12-01",
            "Config": {"PrivateZone": private}, "ResourceRecordSetCount": 4,
        },
        "DelegationSet": {"NameServers": ["ns-1.awsdns-01.org", "ns-2.awsdns-02.com"]},
    }  # fmt: skip


def test_hosted_zone_is_skipped_without_a_custom_domain():
    assert aws_checks.check_hosted_zone(object(), settings()).status == "skip"


def test_hosted_zone_passes_when_the_public_zone_holds_the_domain(stubbed):
    route53, stub = stubbed("route53")
    stub.add_response("get_hosted_zone", _zone(), {"Id": ZONE_ID})
    assert aws_checks.check_hosted_zone(route53, settings(**DOMAIN)).status == "ok"


def test_hosted_zone_fails_when_it_does_not_exist(stubbed):
    route53, stub = stubbed("route53")
    stub.add_client_error(
        "get_hosted_zone", "NoSuchHostedZone", http_status_code=404, expected_params={"Id": ZONE_ID}
    )
    result = aws_checks.check_hosted_zone(route53, settings(**DOMAIN))
    assert result.failed
    assert "no such hosted zone" in result.detail


@pytest.mark.parametrize(
    ("zone", "expected"),
    [(_zone("example.org."), "is not in"), (_zone(private=True), "is a private zone")],
    ids=["other-domain", "private"],
)
def test_hosted_zone_fails_when_it_cannot_serve_the_domain(stubbed, zone, expected):
    route53, stub = stubbed("route53")
    stub.add_response("get_hosted_zone", zone, {"Id": ZONE_ID})
    result = aws_checks.check_hosted_zone(route53, settings(**DOMAIN))
    assert result.failed
    assert expected in result.detail


def _caa(stub, name: str, records: list[str] | None, next_name: str = "zzz.example.com.") -> None:
    """ListResourceRecordSets from (name, CAA), one item: the CAA set of `name` if it has one,
    else whatever record set sorts next (as Route 53 answers)."""
    found = (
        {
            "Name": f"{name}.",
            "Type": "CAA",
            "TTL": 300,
            "ResourceRecords": [{"Value": v} for v in records],
        }
        if records is not None
        else {
            "Name": next_name,
            "Type": "A",
            "TTL": 300,
            "ResourceRecords": [{"Value": "192.0.2.1"}],
        }
    )
    stub.add_response(
        "list_resource_record_sets",
        {
            "ResourceRecordSets": [found],
            "IsTruncated": True,
            "NextRecordName": "zzz.",
            "NextRecordType": "A",
            "MaxItems": "1",
        },
        {
            "HostedZoneId": ZONE_ID,
            "StartRecordName": name,
            "StartRecordType": "CAA",
            "MaxItems": "1",
        },
    )


def test_certificates_pass_when_no_caa_record_restricts_issuance(stubbed):
    route53, stub = stubbed("route53")
    stub.add_response("get_hosted_zone", _zone(), {"Id": ZONE_ID})
    _caa(stub, "app.example.com", None)
    _caa(stub, "example.com", None)
    result = aws_checks.check_certificate_issuance(route53, settings(**DOMAIN))
    assert result.status == "ok", result


def test_certificates_pass_when_the_closest_caa_allows_amazon(stubbed):
    route53, stub = stubbed("route53")
    stub.add_response("get_hosted_zone", _zone(), {"Id": ZONE_ID})
    _caa(stub, "app.example.com", None)
    _caa(
        stub,
        "example.com",
        ['0 issue "letsencrypt.org"', '0 issue "amazon.com"', '0 iodef "mailto:x@example.com"'],
    )
    result = aws_checks.check_certificate_issuance(route53, settings(**DOMAIN))
    assert result.status == "ok", result
    assert "CAA at example.com" in result.detail


def test_certificates_fail_when_the_closest_caa_names_only_another_authority(stubbed):
    # ACM user guide, "CAA records": amazon.com, amazontrust.com, awstrust.com or amazonaws.com.
    route53, stub = stubbed("route53")
    stub.add_response("get_hosted_zone", _zone(), {"Id": ZONE_ID})
    _caa(stub, "app.example.com", ['0 issue "letsencrypt.org"'])
    result = aws_checks.check_certificate_issuance(route53, settings(**DOMAIN))
    assert result.failed
    assert "allow only letsencrypt.org" in result.detail
    assert '0 issue "amazon.com"' in result.fix


def test_certificates_fail_when_caa_forbids_every_authority(stubbed):
    route53, stub = stubbed("route53")
    stub.add_response("get_hosted_zone", _zone(), {"Id": ZONE_ID})
    _caa(stub, "app.example.com", None)
    _caa(stub, "example.com", ['0 issue ";"'])
    result = aws_checks.check_certificate_issuance(route53, settings(**DOMAIN))
    assert result.failed
    assert "allow only no one" in result.detail


# --- RDS ------------------------------------------------------------------------------------------

# The class staging's own stack file names (read, not retyped: the stack file may change it).
STAGING_CLASS = settings().db_instance_class
RDS_QUERY = {"Engine": "postgres", "DBInstanceClass": STAGING_CLASS}


def _orderable(*versions: str, multi_az: bool = True) -> dict[str, Any]:
    return {
        "OrderableDBInstanceOptions": [
            {"Engine": "postgres", "EngineVersion": v, "DBInstanceClass": STAGING_CLASS,
             "StorageType": "gp3", "MultiAZCapable": multi_az}
            for v in versions
        ]
    }  # fmt: skip


def test_rds_class_passes_when_offered_with_the_major_version(stubbed):
    rds, stub = stubbed("rds")
    stub.add_response(
        "describe_orderable_db_instance_options", _orderable("15.8", "16.4", "16.6"), RDS_QUERY
    )
    result = aws_checks.check_rds_class(rds, settings())
    assert result.status == "ok", result


def test_rds_class_reads_every_page(stubbed):
    rds, stub = stubbed("rds")
    first = {**_orderable("14.12", "15.8"), "Marker": "page-2"}
    stub.add_response("describe_orderable_db_instance_options", first, RDS_QUERY)
    stub.add_response(
        "describe_orderable_db_instance_options",
        _orderable("16.4"),
        {**RDS_QUERY, "Marker": "page-2"},
    )
    assert aws_checks.check_rds_class(rds, settings()).status == "ok"


def test_rds_class_fails_when_the_region_does_not_offer_it(stubbed):
    rds, stub = stubbed("rds")
    stub.add_response(
        "describe_orderable_db_instance_options", {"OrderableDBInstanceOptions": []}, RDS_QUERY
    )
    result = aws_checks.check_rds_class(rds, settings())
    assert result.failed
    assert f"{STAGING_CLASS} is not offered for postgres in us-east-1" in result.detail


def test_rds_class_fails_when_not_offered_with_the_configured_version(stubbed):
    rds, stub = stubbed("rds")
    stub.add_response(
        "describe_orderable_db_instance_options", _orderable("14.12", "15.8"), RDS_QUERY
    )
    result = aws_checks.check_rds_class(rds, settings(db_engine_version="16"))
    assert result.failed
    assert "not with PostgreSQL 16 (majors offered: 14, 15)" in result.detail


def test_rds_class_fails_when_it_cannot_be_multi_az(stubbed):
    rds, stub = stubbed("rds")
    stub.add_response(
        "describe_orderable_db_instance_options", _orderable("16.4", multi_az=False), RDS_QUERY
    )
    result = aws_checks.check_rds_class(rds, settings(db_multi_az=True))
    assert result.failed
    assert "cannot be multi-AZ" in result.detail


# --- the secrets key ------------------------------------------------------------------------------

ALIAS = "alias/shipyard-pulumi-secrets"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def _key(state: str = "Enabled") -> dict[str, Any]:
    return {
        "KeyMetadata": {
            "KeyId": KEY_ARN.rsplit("/", 1)[1],
            "Arn": KEY_ARN,
            "KeyState": state,
            "Enabled": state == "Enabled",
        }
    }


def test_kms_key_is_read_from_pulumi_awskms_urls():
    assert aws_checks.kms_key_of(f"awskms://{ALIAS}?region=eu-west-1", REGION) == (
        ALIAS,
        "eu-west-1",
    )
    assert aws_checks.kms_key_of(f"awskms:///{KEY_ARN}", "eu-west-1") == (KEY_ARN, REGION)
    assert aws_checks.kms_key_of("awskms://1234abcd-12ab-34cd-56ef-1234567890ab", "eu-west-1") == (
        "1234abcd-12ab-34cd-56ef-1234567890ab", "eu-west-1")  # fmt: skip
    assert aws_checks.kms_key_of("passphrase", REGION) is None


def test_secrets_key_passes_when_it_decrypts_the_stacks_data_key(stubbed, tmp_path: Path):
    stack = read_stack_file("staging", write_stack_files(tmp_path))
    kms, stub = stubbed("kms")
    stub.add_response("describe_key", _key(), {"KeyId": ALIAS})
    blob = base64.b64decode(stack.document["encryptedkey"])
    stub.add_response(
        "decrypt",
        {"KeyId": KEY_ARN, "Plaintext": b"\x00" * 32},
        {"CiphertextBlob": blob, "KeyId": ALIAS},
    )
    assert aws_checks.check_secrets_key(kms, stack, ALIAS).status == "ok"


def test_secrets_key_fails_when_the_account_has_no_such_key(stubbed, tmp_path: Path):
    stack = read_stack_file("staging", write_stack_files(tmp_path))
    kms, stub = stubbed("kms")
    stub.add_client_error(
        "describe_key", "NotFoundException", http_status_code=400, expected_params={"KeyId": ALIAS}
    )
    result = aws_checks.check_secrets_key(kms, stack, ALIAS)
    assert result.failed
    assert "which this account does not have" in result.detail


def test_secrets_key_fails_when_disabled(stubbed, tmp_path: Path):
    stack = read_stack_file("staging", write_stack_files(tmp_path))
    kms, stub = stubbed("kms")
    stub.add_response("describe_key", _key("Disabled"), {"KeyId": ALIAS})
    assert "is Disabled" in aws_checks.check_secrets_key(kms, stack, ALIAS).detail


def test_secrets_key_fails_when_the_data_key_was_made_with_another_key(stubbed, tmp_path: Path):
    stack = read_stack_file("staging", write_stack_files(tmp_path))
    kms, stub = stubbed("kms")
    stub.add_response("describe_key", _key(), {"KeyId": ALIAS})
    stub.add_client_error("decrypt", "IncorrectKeyException", http_status_code=400)
    result = aws_checks.check_secrets_key(kms, stack, ALIAS)
    assert result.failed
    assert (
        "was not made with alias/shipyard-pulumi-secrets (IncorrectKeyException)" in result.detail
    )


# --- the deploy role's trust ----------------------------------------------------------------------

LEGACY = "repo:shipyard-org/shipyard"
IMMUTABLE = "repo:shipyard-org@4242/shipyard@987654"


def _get_role(stub, name: str, trust: dict[str, Any]) -> None:
    stub.add_response(
        "get_role",
        {"Role": {
            "Path": "/", "RoleName": name, "RoleId": "AROAEXAMPLEEXAMPLE123",
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "CreateDate": datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC),
            # AWS answers the document URL-encoded; botocore decodes it.
            "AssumeRolePolicyDocument": urllib.parse.quote(json.dumps(trust)),
            "MaxSessionDuration": 7200,
        }},
        {"RoleName": name},
    )  # fmt: skip


def _bootstrap(tmp_path: Path, **overrides: Any):
    return read_bootstrap_file(
        "shipyard", write_stack_files(tmp_path, bootstrap_config=bootstrap_settings(**overrides))
    )


def test_deploy_role_passes_when_its_trust_accepts_the_environment_subject(
    stubbed, tmp_path, declared_trust
):
    iam, stub = stubbed("iam")
    _get_role(
        stub, "shipyard-ci-deploy-production", declared_trust["shipyard-ci-deploy-production"]
    )
    result = aws_checks.check_deploy_role_trust(iam, _bootstrap(tmp_path), "production", LEGACY)
    assert result.status == "ok", result
    assert f"{LEGACY}:environment:production" in result.detail


def test_deploy_role_fails_when_its_trust_refuses_the_repositorys_immutable_subject(
    stubbed, tmp_path, declared_trust
):
    iam, stub = stubbed("iam")
    _get_role(
        stub, "shipyard-ci-deploy-production", declared_trust["shipyard-ci-deploy-production"]
    )
    result = aws_checks.check_deploy_role_trust(iam, _bootstrap(tmp_path), "production", IMMUTABLE)
    assert result.failed
    assert f"sub {IMMUTABLE}:environment:production" in result.detail
    assert f"it trusts {LEGACY}:environment:production" in result.detail


def test_deploy_role_fails_when_another_environments_role_is_all_there_is(
    stubbed, tmp_path, declared_trust
):
    # Control on the evaluator: the staging role's trust refuses production's subject.
    iam, stub = stubbed("iam")
    _get_role(stub, "shipyard-ci-deploy-production", declared_trust["shipyard-ci-deploy-staging"])
    assert aws_checks.check_deploy_role_trust(
        iam, _bootstrap(tmp_path), "production", LEGACY
    ).failed


def test_deploy_role_fails_when_the_bootstrap_never_ran(stubbed, tmp_path):
    iam, stub = stubbed("iam")
    stub.add_client_error(
        "get_role",
        "NoSuchEntity",
        http_status_code=404,
        expected_params={"RoleName": "shipyard-ci-deploy-staging"},
    )
    result = aws_checks.check_deploy_role_trust(iam, _bootstrap(tmp_path), "staging", LEGACY)
    assert result.failed
    assert "make bootstrap" in result.fix


def test_deploy_role_is_skipped_when_the_credentials_may_not_read_it(stubbed, tmp_path):
    # The deploy job's own role: assuming it already proved its trust.
    iam, stub = stubbed("iam")
    stub.add_client_error("get_role", "AccessDenied", http_status_code=403)
    result = aws_checks.check_deploy_role_trust(iam, _bootstrap(tmp_path), "staging", LEGACY)
    assert result.status == "skip"


@pytest.mark.parametrize(("quota", "room"), [(10, 0), (50, 0), (100, 0), (105, 5), (1000, 900)])
def test_lambda_keeps_100_unreserved_or_the_whole_of_a_smaller_quota(stubbed, quota, room):
    # AWS's own refusals: minimum [10] on a quota of 10, [50] on a quota of 50, 100 above.
    client, stub = stubbed("lambda")
    stub.add_response("get_account_settings", _account_settings(quota, quota), {})
    stub.add_client_error(
        "get_function_concurrency", "ResourceNotFoundException", http_status_code=404,
        expected_params=FUNCTION,
    )  # fmt: skip
    result = aws_checks.check_lambda_concurrency(
        client, settings(alerts_reserved_concurrency=room + 1)
    )
    assert result.failed
    assert f"room for {room}" in result.detail
