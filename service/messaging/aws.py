"""AWS SDK clients. On AWS the task role supplies credentials and `AWS_ENDPOINT_URL` is unset;
locally it points every client at the emulator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from service.core.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

# Bounded retries with AWS's adaptive mode; short timeouts so a dead endpoint fails fast and the
# caller's own backoff (relay, worker) takes over instead of hanging a thread.
_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=3,
    read_timeout=25,  # above SQS long polling's 20 s
)


def sns_client(settings: Settings) -> SNSClient:
    return boto3.client("sns", **_options(settings))


def sqs_client(settings: Settings, *, credentials: Mapping[str, str] | None = None) -> SQSClient:
    """`credentials` (aws_access_key_id, aws_secret_access_key, aws_session_token): another
    identity than the process's own; by default boto3 finds the process's (the task role)."""
    options: dict[str, Any] = {**_options(settings), **(credentials or {})}
    return boto3.client("sqs", **options)


def _options(settings: Settings) -> dict[str, Any]:
    return {
        "region_name": settings.aws_region,
        "endpoint_url": settings.aws_endpoint_url,
        "config": _CONFIG,
    }
