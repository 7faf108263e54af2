"""Pulumi's state backend in this account: the S3 bucket, its key, one secrets key per app stack.

CI reaches both with its OIDC role: no Pulumi access token or passphrase exists anywhere. The
bucket is versioned (a bad `up` or a lost lock can be undone from an earlier version), encrypted
with the state key, closed to the public and to plain HTTP.

Keys: the *state key* encrypts the bucket (SSE-KMS). Each app stack has a *secrets key* of its
own (`alias/shipyard-pulumi-secrets-<stack>`, what `secretsprovider: awskms://...` in
`Pulumi.<stack>.yaml` names), so staging's key can be granted to a pull request's preview without
prod's (infra/deploy_identity.py says who may use which). The state key's alias keeps its old
name, `alias/shipyard-pulumi-secrets`: before issue 22 it was every stack's secrets provider, and
both it and the key are protected; a stack still on it moves with
`pulumi stack change-secrets-provider awskms://alias/shipyard-pulumi-secrets-<stack>?region=...`.

Where the DIY backend keeps a stack's objects is written here once (`stack_state_keys`): from
pulumi/pulumi `pkg/backend/diy` (store.go: stacks, history, backups, journal; stack_tags.go:
`<stack>.pulumi-tags` beside the checkpoint; lock.go: `.pulumi/locks/` + the stack's fully
qualified name `organization/<project>/<stack>` + `/<uuid>.json`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.bootstrap_config import APP_PROJECT, BootstrapConfig
from infra.config import PROJECT
from infra.iam_documents import Statement, document
from infra.private_bucket import keep_private

STATE_KEY_ALIAS = f"alias/{APP_PROJECT}-pulumi-secrets"  # its name from before issue 22 (see above)
BOOKKEEPING_DIR = ".pulumi"  # workspace.BookkeepingDir
# `.pulumi/meta.yaml` says which layout the bucket uses; rewriting it re-reads every stack.
BACKEND_META_KEY = f"{BOOKKEEPING_DIR}/meta.yaml"
# The DIY backend has one organization, always called this (store.go, ParseReference).
DIY_ORGANIZATION = "organization"

# A noncurrent state version is deleted once it is this old AND this many newer ones exist.
STATE_VERSIONS_KEPT_DAYS = 90
STATE_VERSIONS_KEPT = 20


def secrets_key_alias(stack: str) -> str:
    return f"alias/{APP_PROJECT}-pulumi-secrets-{stack}"


def secrets_provider_url(alias: str, region: str) -> str:
    return f"awskms://{alias}?region={region}"


def stack_state_keys(project: str, stack: str) -> list[str]:
    """Every object key the DIY backend reads or writes for one stack (patterns, IAM syntax)."""
    return [
        # <stack>.json, and .json.gz/.json.zst (compressed), .json.bak (the previous checkpoint)
        f"{BOOKKEEPING_DIR}/stacks/{project}/{stack}.json*",
        f"{BOOKKEEPING_DIR}/stacks/{project}/{stack}.pulumi-tags",
        f"{BOOKKEEPING_DIR}/history/{project}/{stack}/*",
        f"{BOOKKEEPING_DIR}/backups/{project}/{stack}/*",
        f"{BOOKKEEPING_DIR}/journal/{project}/{stack}/*",
        f"{BOOKKEEPING_DIR}/locks/{DIY_ORGANIZATION}/{project}/{stack}/*",
    ]


def project_state_keys(project: str) -> list[str]:
    """Every object key of every stack of one project."""
    return [
        *(f"{BOOKKEEPING_DIR}/{kind}/{project}/*" for kind in ("stacks", "history", "backups")),
        f"{BOOKKEEPING_DIR}/journal/{project}/*",
        f"{BOOKKEEPING_DIR}/locks/{DIY_ORGANIZATION}/{project}/*",
    ]


def preview_read_keys(project: str, stack: str) -> list[str]:
    """What `pulumi preview` of one stack reads: the backend's layout, the checkpoint, its tags.
    No lock: the DIY backend's preview and `refresh --preview-only` take none (backend.go)."""
    return [
        BACKEND_META_KEY,
        f"{BOOKKEEPING_DIR}/stacks/{project}/{stack}.json*",
        f"{BOOKKEEPING_DIR}/stacks/{project}/{stack}.pulumi-tags",
    ]


def object_arns(bucket_arn: pulumi.Input[str], keys: Sequence[str]) -> list[pulumi.Output[str]]:
    return [pulumi.Output.concat(bucket_arn, "/", key) for key in keys]


@dataclass(frozen=True)
class StateBackendArgs:
    config: BootstrapConfig


class StateBackend(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]  # the state key
    secrets_key_arns: dict[str, pulumi.Output[str]]  # app stack -> its secrets key
    secrets_providers: dict[str, str]  # app stack -> awskms:// URL for `secretsprovider:`
    bootstrap_secrets_provider: str  # the bootstrap stack's own (the state key)
    backend_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:bootstrap:StateBackend", name, None, opts)
        config = args.config
        # State is the one thing that must survive a mistaken `pulumi destroy` of the bootstrap.
        keep = pulumi.ResourceOptions(parent=self, protect=True)
        child = pulumi.ResourceOptions(parent=self)

        def protected_key(suffix: str, description: str, alias: str) -> aws.kms.Key:
            """A rotated KMS key under `alias` (logical names `<name>-secrets-key<suffix>`)."""
            kms_key = aws.kms.Key(
                f"{name}-secrets-key{suffix}",
                description=description,
                enable_key_rotation=True,
                deletion_window_in_days=30,
                opts=keep,
            )
            aws.kms.Alias(
                f"{name}-secrets-alias{suffix}",
                name=alias,
                target_key_id=kms_key.key_id,
                opts=keep,
            )
            return kms_key

        key = protected_key(
            "",
            f"Pulumi state bucket of the {APP_PROJECT} stacks (SSE-KMS) and the bootstrap's own "
            "secrets provider",
            STATE_KEY_ALIAS,
        )
        self.secrets_key_arns = {}
        self.secrets_providers = {}
        for target in config.deploy_targets:
            alias = secrets_key_alias(target.stack)
            stack_key = protected_key(
                f"-{target.stack}",
                f"Pulumi secrets provider of the {APP_PROJECT} stack {target.stack}",
                alias,
            )
            self.secrets_key_arns[target.stack] = stack_key.arn
            self.secrets_providers[target.stack] = secrets_provider_url(alias, config.region)

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
        self._bucket = bucket
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.key_arn = key.arn
        self.backend_url = pulumi.Output.concat("s3://", bucket.bucket, f"?region={config.region}")
        self.bootstrap_secrets_provider = secrets_provider_url(STATE_KEY_ALIAS, config.region)
        self.register_outputs({"backend_url": self.backend_url, "key_arn": self.key_arn})

    def set_bucket_policy(self, name: str, *statements: Statement) -> None:
        """The bucket's one policy: TLS only, plus the readers' limits the CI identities set (they
        need the bucket's ARN first, so the policy is declared after them)."""
        bucket = self._bucket
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
                },
                *statements,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
