"""What makes an S3 bucket private whatever a later policy or ACL says: every public-access block
on, and object ownership enforced (ACLs off). The state bucket and the web bucket both need it;
the caller names the two resources, so their URNs stay put."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def keep_private(
    bucket: aws.s3.Bucket,
    *,
    public_access_block_name: str,
    ownership_name: str,
    opts: pulumi.ResourceOptions,
) -> aws.s3.BucketPublicAccessBlock:
    """Returns the public-access block (a bucket policy must wait for it: AWS refuses a policy
    while the block is being applied)."""
    block = aws.s3.BucketPublicAccessBlock(
        public_access_block_name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        ownership_name,
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=opts,
    )
    return block
