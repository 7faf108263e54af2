"""The fake account: its id, the AWS data the answers hand out, and the stable fake-id hash.

Where an answer is AWS's own published data (the managed CloudFront policy ids, CloudFront's
origin-facing prefixes) it is the real data, so what the program derives from it is checked
against what AWS would return.
"""

from __future__ import annotations

import hashlib

ACCOUNT_ID = "123456789012"
# AWS-managed CloudFront policies: the same ids in every account.
MANAGED_POLICY_IDS = {
    "Managed-CachingOptimized": "658327ea-f89d-4fab-a63d-7e88639e58f6",
    "Managed-CachingDisabled": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    "Managed-AllViewerExceptHostHeader": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
    "Managed-SecurityHeadersPolicy": "67f7725c-6f97-4210-82d7-5512b31e9d03",
}
CLOUDFRONT_PREFIX_LIST_ID = "pl-3b927c52"
# The IPv4 entries of com.amazonaws.global.cloudfront.origin-facing: AWS's CLOUDFRONT_ORIGIN_FACING
# prefixes of https://ip-ranges.amazonaws.com/ip-ranges.json (snapshot, createDate 2026-08-31).
# Real data, so what the program derives from the lookup (TRUSTED_PROXIES) is checked against it.
CLOUDFRONT_ORIGIN_FACING_CIDRS = (
    "130.176.88.0/21", "54.239.134.0/23", "52.82.134.0/23", "130.176.86.0/23",
    "130.176.140.0/22", "130.176.0.0/18", "54.239.204.0/22", "130.176.160.0/19",
    "70.132.0.0/18", "15.158.0.0/16", "130.176.136.0/23", "54.239.170.0/23",
    "130.176.96.0/19", "54.182.184.0/22", "204.246.166.0/24", "130.176.64.0/21",
    "54.182.172.0/22", "205.251.218.0/24", "130.176.144.0/20", "54.182.176.0/21",
    "130.176.78.0/23", "54.182.248.0/22", "64.252.128.0/18", "54.182.154.0/23",
    "64.252.64.0/18", "54.182.144.0/21", "54.182.224.0/21", "130.176.128.0/21",
    "52.46.0.0/18", "3.172.64.0/18", "52.82.128.0/23", "18.68.0.0/16",
    "54.182.156.0/22", "54.182.160.0/21", "54.182.240.0/21", "130.176.192.0/19",
    "130.176.76.0/24", "54.239.208.0/21", "54.182.188.0/23", "24.110.128.0/17",
    "3.172.0.0/18", "130.176.80.0/22", "54.182.128.0/20", "130.176.72.0/22",
    "13.124.199.0/24", "3.29.57.0/26",
)  # fmt: skip
# Zone ids of the offline region's zones a..f, in name order. AWS maps names to ids per account;
# here use1-az3 (short of newer instance classes) is the second zone, so a program that does not
# exclude it puts a subnet there.
AVAILABILITY_ZONE_IDS = ("use1-az1", "use1-az3", "use1-az2", "use1-az4", "use1-az6", "use1-az5")


def short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def sha256_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
