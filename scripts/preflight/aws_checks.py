"""The AWS half: what the account must offer before the first `pulumi up` can succeed.

Every check is read-only and takes the boto3 clients it calls, so tests hand it clients with
botocore's Stubber (requests and answers validated against AWS's own API models). The region is
always the stack's (`aws:region`), never the shell's default.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs

from botocore.exceptions import ClientError

from infra.config import NS, StackConfig
from infra.oidc_subjects import environment_subject
from infra.service_declaration import load_declaration
from scripts.preflight.result import Result, fail, ok, skip
from scripts.preflight.stack_files import BootstrapFile, StackFile
from scripts.trust.check import CiRole, accepts
from service.messaging.topology import TOPOLOGY

# Lambda keeps part of the account's concurrency unreserved for functions without a reservation:
# 100 units (Lambda developer guide, "Configuring reserved concurrency": "You can reserve up to
# the Unreserved account concurrency value minus 100"); an account whose whole quota is below
# that (new accounts often get 10 or 50) keeps all of it, so nothing can be reserved there. AWS's
# refusal names that minimum: "decreases account's UnreservedConcurrentExecution below its
# minimum value of [10]" on a quota of 10, [50] on 50 (reported in
# awslabs/fhir-works-on-aws-deployment#691 and aws-samples/s3-to-lambda-patterns#36).
LAMBDA_UNRESERVED_FLOOR = 100
# Service Quotas code of Lambda's "Concurrent executions".
LAMBDA_CONCURRENCY_QUOTA = "L-B99A9384"
# Certificate authorities a CAA record must name for ACM to issue (ACM user guide, "CAA records").
AMAZON_CAA_ISSUERS = ("amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com")
# Every account has these regions enabled: DescribeRegions is asked there, since a region that is
# not enabled answers nothing about itself.
ALWAYS_ENABLED_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1"}
RDS_ENGINE = "postgres"
ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def region_for_listing(region: str) -> str:
    return ALWAYS_ENABLED_REGION["aws-us-gov" if region.startswith("us-gov-") else "aws"]


def check_account(account: str, settings: StackConfig) -> Result:
    name = "AWS account"
    boundary_account = settings.workload_boundary_arn.split(":")[4]
    if boundary_account != account:
        return fail(
            name,
            f"these credentials are for account {account}, but the stack's "
            f"{NS}workload_boundary_arn is in account {boundary_account}",
            "use the credentials of the account the stack deploys to (AWS_PROFILE), or set "
            f"{NS}workload_boundary_arn from that account's bootstrap outputs",
        )
    return ok(name, f"{account}, the account of the stack's workload boundary")


def check_region(ec2: Any, region: str) -> Result:
    """`ec2`: a client in `region_for_listing(region)`."""
    name = f"region {region}"
    regions = {r["RegionName"]: r for r in ec2.describe_regions(AllRegions=True)["Regions"]}
    found = regions.get(region)
    if found is None:
        return fail(
            name,
            f"{region} is not an AWS region (aws:region)",
            "set aws:region in the stack file to one of: " + ", ".join(sorted(regions)),
        )
    if found.get("OptInStatus") == "not-opted-in":
        return fail(
            name,
            f"{region} is an opt-in region that this account has not enabled",
            f"enable it (AWS console, Account, AWS Regions; or `aws account enable-region "
            f"--region-name {region}`), or choose another aws:region",
        )
    return ok(name, f"enabled ({found.get('OptInStatus', 'opt-in-not-required')})")


def check_zones(ec2: Any, settings: StackConfig) -> Result:
    """`ec2`: a client in the stack's region."""
    name = "availability zones"
    zones = ec2.describe_availability_zones(
        Filters=[{"Name": "zone-type", "Values": ["availability-zone"]}]
    )["AvailabilityZones"]
    ids = {zone["ZoneId"] for zone in zones}
    excluded = settings.excluded_zone_ids
    unknown = [zone_id for zone_id in excluded if zone_id not in ids]
    if unknown:
        return fail(
            name,
            f"{NS}excluded_zone_ids names {', '.join(unknown)}, which {settings.region} "
            f"does not have (its zones: {', '.join(sorted(ids))})",
            "list zone ids of the stack's region (`aws ec2 describe-availability-zones "
            f"--region {settings.region}` shows ZoneId), or unset it to take the default",
        )
    usable = sorted(
        zone["ZoneId"]
        for zone in zones
        if zone.get("State") == "available" and zone["ZoneId"] not in excluded
    )
    if len(usable) < settings.availability_zones:
        return fail(
            name,
            f"{NS}availability_zones={settings.availability_zones}, but only "
            f"{len(usable)} available zone(s) are left outside the exclusions "
            f"({', '.join(usable) or 'none'})",
            f"lower {NS}availability_zones or exclude fewer zones",
        )
    shown = f" (excluded: {', '.join(excluded)})" if excluded else ""
    return ok(name, f"uses {settings.availability_zones} of {len(usable)} available zones{shown}")


def check_lambda_concurrency(
    lambda_client: Any, settings: StackConfig, reserved: Mapping[str, int | None] | None = None
) -> Result:
    """`lambda_client`: in the stack's region. Room for every declared function's reserved
    concurrency (services.yaml's `kind: function`, `reserved_concurrency` or a stack-file group
    such as `alerts_reserved_concurrency`); `reserved` defaults to the repository's declaration."""
    name = "Lambda concurrency"
    if reserved is None:
        reserved = load_declaration(TOPOLOGY).reserved_concurrency(settings)
    wanted_by = {key: count for key, count in reserved.items() if count}
    if not wanted_by:
        return ok(name, "no reserved concurrency asked (no declared function reserves any)")
    wanted = sum(wanted_by.values())
    asked = ", ".join(f"{key} {count}" for key, count in wanted_by.items())
    limit = lambda_client.get_account_settings()["AccountLimit"]
    quota = int(limit["ConcurrentExecutions"])
    unreserved = int(limit["UnreservedConcurrentExecutions"])
    already = 0  # what these functions hold already: a re-run keeps its own
    for key in wanted_by:
        try:
            held = lambda_client.get_function_concurrency(FunctionName=f"{settings.prefix}-{key}")
            already += int(held.get("ReservedConcurrentExecutions") or 0)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
    floor = min(LAMBDA_UNRESERVED_FLOOR, quota)
    room = unreserved + already - floor
    if wanted > room:
        reserved_elsewhere = quota - unreserved - already
        needed = wanted + reserved_elsewhere + LAMBDA_UNRESERVED_FLOOR
        return fail(
            name,
            f"the declared functions reserve {wanted} ({asked}), but the account's concurrency "
            f"quota in {settings.region} is {quota} with {unreserved} unreserved, and Lambda "
            f"keeps {floor} unreserved: room for {max(room, 0)}",
            f"request a 'Concurrent executions' quota of at least {needed} (Service Quotas, "
            f"AWS Lambda, {LAMBDA_CONCURRENCY_QUOTA}, region {settings.region}), or lower the "
            f"functions' reserved concurrency (services.yaml, or {NS}alerts_reserved_concurrency "
            "for a function with `stack_settings: alerts`)",
        )
    return ok(
        name, f"{wanted} reservable ({asked}): quota {quota}, {unreserved} unreserved, {floor} kept"
    )


def _zone(route53: Any, settings: StackConfig) -> tuple[str, bool] | Result:
    """The hosted zone's name (no trailing dot) and whether it is private, or a failure."""
    try:
        zone = route53.get_hosted_zone(Id=settings.hosted_zone_id)["HostedZone"]
    except ClientError as error:
        if error_code(error) not in ("NoSuchHostedZone", "InvalidInput"):
            raise
        return fail(
            "hosted zone",
            f"{NS}hosted_zone_id={settings.hosted_zone_id}: no such hosted zone in this account",
            "create the zone (or use the id `aws route53 list-hosted-zones` shows for your "
            f"domain), or unset {NS}domain_name and {NS}hosted_zone_id",
        )
    return str(zone["Name"]).rstrip("."), bool(zone.get("Config", {}).get("PrivateZone"))


def _within(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


def check_hosted_zone(route53: Any, settings: StackConfig) -> Result:
    name = "hosted zone"
    if settings.hosted_zone_id is None or settings.domain_name is None:
        return skip(name, f"no custom domain ({NS}domain_name unset): CloudFront's own name")
    zone = _zone(route53, settings)
    if isinstance(zone, Result):
        return zone
    zone_name, private = zone
    if private:
        return fail(
            name,
            f"{settings.hosted_zone_id} ({zone_name}) is a private zone: ACM's validation "
            "record and CloudFront's alias must be public",
            "use the public hosted zone of the domain",
        )
    if not _within(settings.domain_name, zone_name):
        return fail(
            name,
            f"{NS}domain_name={settings.domain_name} is not in {settings.hosted_zone_id}'s "
            f"domain {zone_name}",
            "use the hosted zone that holds the domain name, or a name inside this zone",
        )
    return ok(
        name, f"{settings.hosted_zone_id}: public zone {zone_name} holds {settings.domain_name}"
    )


def _names_up_to(domain: str, zone: str) -> Iterator[str]:
    """`app.example.com` in zone `example.com`: app.example.com, example.com (CAA tree climbing,
    RFC 8659: the closest name that has CAA records decides)."""
    labels = domain.split(".")
    for start in range(len(labels)):
        name = ".".join(labels[start:])
        yield name
        if name == zone:
            return


def _caa_records(route53: Any, zone_id: str, name: str) -> list[str] | None:
    answer = route53.list_resource_record_sets(
        HostedZoneId=zone_id, StartRecordName=name, StartRecordType="CAA", MaxItems="1"
    )
    for record_set in answer["ResourceRecordSets"]:
        if record_set["Name"].rstrip(".") == name and record_set["Type"] == "CAA":
            return [record["Value"] for record in record_set.get("ResourceRecords", [])]
    return None


def _issuers(records: list[str]) -> list[str] | None:
    """The CAs an `issue` property allows (`0 issue "amazon.com"`); None if none restricts."""
    issuers = None
    for record in records:
        parts = record.split(None, 2)
        if len(parts) == 3 and parts[1].lower() == "issue":
            issuer = parts[2].strip('"').split(";", 1)[0].strip().lower()
            issuers = (issuers or []) + ([issuer] if issuer else [])
    return issuers


def check_certificate_issuance(route53: Any, settings: StackConfig) -> Result:
    """The stacks request DNS-validated ACM certificates for `domain_name` (CloudFront's in
    us-east-1; with alb_origin=public also one in the stack's region): the zone's CAA records
    must let Amazon issue them."""
    name = "certificates"
    if settings.hosted_zone_id is None or settings.domain_name is None:
        return skip(name, "no custom domain: CloudFront's default certificate")
    zone = _zone(route53, settings)
    if isinstance(zone, Result):
        return skip(name, "the hosted zone is missing (see above)")
    zone_name, _private = zone
    for candidate in _names_up_to(settings.domain_name, zone_name):
        records = _caa_records(route53, settings.hosted_zone_id, candidate)
        if records is None:
            continue
        issuers = _issuers(records)
        if issuers is not None and not set(issuers) & set(AMAZON_CAA_ISSUERS):
            return fail(
                name,
                f"the CAA records of {candidate} allow only {', '.join(issuers) or 'no one'}: "
                f"ACM cannot issue the certificate for {settings.domain_name}",
                f'add a CAA record `0 issue "amazon.com"` at {candidate}',
            )
        return ok(name, f"ACM may issue for {settings.domain_name} (CAA at {candidate})")
    return ok(name, f"ACM may issue for {settings.domain_name} (no CAA records in {zone_name})")


def check_rds_class(rds: Any, settings: StackConfig) -> Result:
    """`rds`: in the stack's region."""
    name = "RDS instance class"
    wanted_class, version = settings.db_instance_class, settings.db_engine_version
    options = [
        option
        for page in rds.get_paginator("describe_orderable_db_instance_options").paginate(
            Engine=RDS_ENGINE, DBInstanceClass=wanted_class
        )
        for option in page["OrderableDBInstanceOptions"]
    ]
    if not options:
        return fail(
            name,
            f"{wanted_class} is not offered for {RDS_ENGINE} in {settings.region}",
            f"choose another {NS}db_instance_class (`aws rds "
            "describe-orderable-db-instance-options --engine postgres --region "
            f"{settings.region}`)",
        )
    matching = [
        option
        for option in options
        if option["EngineVersion"] == version or option["EngineVersion"].startswith(version + ".")
    ]
    if not matching:
        offered = sorted({option["EngineVersion"].split(".")[0] for option in options}, key=int)
        return fail(
            name,
            f"{wanted_class} is offered in {settings.region}, but not with PostgreSQL {version} "
            f"(majors offered: {', '.join(offered)})",
            f"set {NS}db_engine_version to one of those, or choose another instance class",
        )
    if settings.db_multi_az and not any(option.get("MultiAZCapable") for option in matching):
        return fail(
            name,
            f"{wanted_class} with PostgreSQL {version} cannot be multi-AZ in {settings.region}",
            f"choose another {NS}db_instance_class ({NS}db_multi_az is required in production)",
        )
    return ok(name, f"{wanted_class}, PostgreSQL {version}, offered in {settings.region}")


# --- the stack's secrets key ------------------------------------------------------------------


def kms_key_of(provider: str, default_region: str) -> tuple[str, str] | None:
    """`awskms://alias/x?region=r` (or `awskms:///arn:...`) -> (key id, region); None otherwise."""
    if not provider.startswith("awskms://"):
        return None
    rest = provider.removeprefix("awskms://")
    key, _, query = rest.partition("?")
    key = key.lstrip("/")
    region = parse_qs(query).get("region", [""])[0]
    if not region and key.startswith("arn:"):
        region = key.split(":")[3]
    return key, region or default_region


def check_secrets_key(kms: Any, stack_file: StackFile, key_id: str) -> Result:
    """`kms`: in the key's region. The stack's data key must decrypt with the named key (the
    plaintext is discarded): a stack file made with another account's key fails here."""
    name = "secrets key"
    try:
        metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except ClientError as error:
        if error_code(error) != "NotFoundException":
            raise
        return fail(
            name,
            f"the stack's secrets provider names {key_id}, which this account does not have",
            "run `make bootstrap` in this account, or re-create the stack with the bootstrap's "
            "secrets_provider output (docs/getting-started-on-aws.md, step 3)",
        )
    if metadata.get("KeyState") != "Enabled":
        return fail(
            name,
            f"{key_id} is {metadata.get('KeyState')}: the stack's secrets cannot be decrypted",
            f"enable the key (`aws kms enable-key --key-id {metadata['KeyId']}`)",
        )
    try:
        blob = base64.b64decode(str(stack_file.document["encryptedkey"]), validate=True)
    except (binascii.Error, KeyError):
        return fail(
            name,
            f"{stack_file.path.name}'s encryptedkey is not base64",
            "restore the file from version control",
        )
    try:
        kms.decrypt(CiphertextBlob=blob, KeyId=key_id)
    except ClientError as error:
        if error_code(error) not in ("InvalidCiphertextException", "IncorrectKeyException"):
            raise
        return fail(
            name,
            f"{stack_file.path.name}'s encryptedkey was not made with {key_id} "
            f"({error_code(error)})",
            "the stack file comes from another key or account: re-create the stack with the "
            "bootstrap's secrets_provider output",
        )
    return ok(name, f"{key_id} is enabled and decrypts the stack's data key")


# --- the deploy role's trust ------------------------------------------------------------------


def check_deploy_role_trust(
    iam: Any, bootstrap: BootstrapFile, environment: str, prefix: str
) -> Result:
    """The deployed role of `environment` accepts the token its deploy job will present."""
    assert bootstrap.settings is not None
    role_name = f"{bootstrap.settings.prefix}-deploy-{environment}"
    name = f"deploy role {role_name}"
    subject = environment_subject(prefix, environment)
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
    except ClientError as error:
        if error_code(error) in ACCESS_DENIED:
            # The deploy job's own role may not read CI roles; its assuming the role proved it.
            return skip(name, "these credentials may not read it (iam:GetRole)")
        if error_code(error) != "NoSuchEntity":
            raise
        return fail(
            name,
            "does not exist in this account",
            "run `make bootstrap` with administrator credentials "
            "(docs/getting-started-on-aws.md, step 2)",
        )
    # AWS sends the document URL-encoded; botocore hands it over decoded, as a dict.
    ci_role = CiRole(
        role["Arn"], role["AssumeRolePolicyDocument"], int(role.get("MaxSessionDuration", 3600))
    )
    if not accepts(ci_role, subject):
        trusted = ", ".join(ci_role.trusted_subjects()) or "no GitHub subject"
        return fail(
            name,
            f"refuses the deploy job's token (sub {subject}); it trusts {trusted}",
            f"run `make bootstrap BOOTSTRAP_STACK={bootstrap.stack}` so the role trusts what "
            f"{bootstrap.path.name} says; if the file is wrong too, the GitHub half's OIDC subject "
            "check names the repository's prefix",
        )
    return ok(name, f"trusts {subject}")
