"""Pulumi's state backend in this account: the S3 bucket and the KMS key of the secrets provider.

CI reaches both with its OIDC role: no Pulumi access token or passphrase exists anywhere, so a
pull-request job holds nothing long-lived. The bucket is versioned (a bad `up` or a lost lock can
be undone from an earlier version), encrypted with the same key, closed to the public and to
plain HTTP. The key is what `pulumi stack init --secrets-provider awskms://<alias>` names.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.bootstrap_config import BootstrapConfig
from infra.iam_documents import document
from infra.private_bucket import keep_private

SECRETS_KEY_ALIAS = "alias/shipyard-pulumi-secrets"
# A noncurrent state version is deleted once it is this old AND this many newer ones exist.
STATE_VERSIONS_KEPT_DAYS = 90
STATE_VERSIONS_KEPT = 20


@dataclass(frozen=True)
class StateBackendArgs:
    config: BootstrapConfig


class StateBackend(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    backend_url: pulumi.Output[str]
    secrets_provider: str

    def __init__(
        self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("shipyard:bootstrap:StateBackend", name, None, opts)
        config = args.config
        # State is the one thing that must survive a mistaken `pulumi destroy` of the bootstrap.
        keep = pulumi.ResourceOptions(parent=self, protect=True)
        child = pulumi.ResourceOptions(parent=self)

        key = aws.kms.Key(
            f"{name}-secrets-key",
            description="Pulumi secrets provider of the shipyard stacks (awskms://)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=keep,
        )
        aws.kms.Alias(
            f"{name}-secrets-alias", name=SECRETS_KEY_ALIAS, target_key_id=key.key_id, opts=keep
        )

        bucket = aws.s3.Bucket(f"{name}-bucket", bucket=config.state_bucket, opts=keep)
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        # Every `pulumi up` rewrites the checkpoint many times; keep three months and the newest
        # versions for an undo, not every version for ever.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "expire-old-state-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {
                        "noncurrent_days": STATE_VERSIONS_KEPT_DAYS,
                        "newer_noncurrent_versions": STATE_VERSIONS_KEPT,
                    },
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            # S3 applies noncurrent-version rules to a bucket whose versioning is on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
        )
        keep_private(
            bucket,
            public_access_block_name=f"{name}-public-access-block",
            ownership_name=f"{name}-ownership",
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=document(
                {
                    "Sid": "TlsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ),
            opts=child,
        )

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.key_arn = key.arn
        self.backend_url = pulumi.Output.concat("s3://", bucket.bucket, f"?region={config.region}")
        self.secrets_provider = f"awskms://{SECRETS_KEY_ALIAS}?region={config.region}"
        self.register_outputs({"backend_url": self.backend_url, "key_arn": self.key_arn})
