"""What AWS answers to a data-source lookup (an invoke), per token: `INVOKES` (token -> answer).

Teaching the fake a new lookup is one row (and the function computing its result). A token
without a row is refused with NotImplementedError naming it: a lookup answered with made-up
data would hide what the program relies on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tools.plan.fake_aws.account import (
    ACCOUNT_ID,
    AVAILABILITY_ZONE_IDS,
    CLOUDFRONT_ORIGIN_FACING_CIDRS,
    CLOUDFRONT_PREFIX_LIST_ID,
    MANAGED_POLICY_IDS,
    short_hash,
)

InvokeAnswer = Callable[[Mapping[str, Any], str], dict[str, Any]]  # (arguments, region) -> result


def caller_identity(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline-plan",
        "userId": "AIDAOFFLINEPLAN",
        "id": ACCOUNT_ID,
    }


def region_info(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {
        "name": region,
        "region": region,
        "id": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
        "description": region,
    }


def availability_zones(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    """A real account's us-east-1: six zones, names mapped to ids per account, and the zone ids
    the caller excludes left out (as AWS does with ExcludeZoneIds)."""
    excluded = set(args.get("excludeZoneIds") or [])
    zones = [
        (name, zone_id)
        for name, zone_id in zip(
            (f"{region}{s}" for s in "abcdef"), AVAILABILITY_ZONE_IDS, strict=True
        )
        if zone_id not in excluded
    ]
    return {
        "id": region,
        "names": [name for name, _ in zones],
        "zoneIds": [zone_id for _, zone_id in zones],
        "groupNames": [region] * len(zones),
    }


def ssm_parameter(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    """The program reads AMI ids from AWS's public parameters: a stable fake AMI id per name."""
    name = args["name"]
    return {
        "id": name,
        "name": name,
        "arn": f"arn:aws:ssm:{region}::parameter{name}",
        "type": "String",
        "value": f"ami-0{short_hash(name, length=16)}",
        "insecureValue": f"ami-0{short_hash(name, length=16)}",
        "version": 1,
        "withDecryption": True,
    }


def cloudfront_managed_policy(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = args.get("name", "")
    if name not in MANAGED_POLICY_IDS:
        raise KeyError(f"no managed CloudFront policy named {name!r}")
    return {"id": MANAGED_POLICY_IDS[name], "name": name, "etag": "E1OFFLINE"}


def managed_prefix_list(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {
        "id": CLOUDFRONT_PREFIX_LIST_ID,
        "name": args.get("name"),
        "arn": f"arn:aws:ec2:{region}:aws:prefix-list/{CLOUDFRONT_PREFIX_LIST_ID}",
        "addressFamily": "IPv4",
        "maxEntries": 55,
        "ownerId": "AWS",
        "entries": [{"cidr": cidr, "description": ""} for cidr in CLOUDFRONT_ORIGIN_FACING_CIDRS],
        "version": 1,
    }


def ecr_authorization_token(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {
        "id": region,
        "userName": "AWS",
        "password": "offline-ecr-rtype",
        "authorizationToken": "QVdTOm9mZmxpbmU=",
        "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com",
        "expiresAt": "2099-01-01T00:00:00Z",
    }


# Invoke token -> its answer.
INVOKES: dict[str, InvokeAnswer] = {
    "aws:index/getCallerIdentity:getCallerIdentity": caller_identity,
    "aws:index/getRegion:getRegion": region_info,
    "aws:index/getAvailabilityZones:getAvailabilityZones": availability_zones,
    "aws:ssm/getParameter:getParameter": ssm_parameter,
    "aws:cloudfront/getCachePolicy:getCachePolicy": cloudfront_managed_policy,
    "aws:cloudfront/getOriginRequestPolicy:getOriginRequestPolicy": cloudfront_managed_policy,
    "aws:cloudfront/getResponseHeadersPolicy:getResponseHeadersPolicy": cloudfront_managed_policy,
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": managed_prefix_list,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": ecr_authorization_token,
}


def respond(token: str, args: Mapping[str, Any], region: str) -> dict[str, Any]:
    answer = INVOKES.get(token)
    if answer is None:
        raise NotImplementedError(
            f"the offline mocks do not answer the invoke {token}; add a row to INVOKES "
            "in tools/plan/fake_aws/invokes.py"
        )
    return answer(args, region)
