"""A stack's rollout settings, derived from the platform's own model, and their rehearsal scale.

The rehearsal does not read stack settings itself: it parses `Pulumi.<stack>.yaml`'s `config:`
with the Pulumi program's model (`infra.config.parse_stack_file_without_secrets`: the same
validation, without the secrets the rehearsal cannot decrypt and does not need), and takes what
the program derives from it (infra/load_balancer.py's health check, infra/services.py's deployment
settings). So a key the platform refuses is refused here too, and a renamed key is one edit.

Where each field comes from:
    api_desired_count, worker_desired_count     shipyard:api_min_tasks, shipyard:worker_min_tasks
    health_check_grace_period_seconds,
    deregistration_delay_seconds, stop_timeout_seconds,
    graceful_shutdown_seconds, worker_shutdown_seconds   the `shipyard:` key of the same name
    health_check_interval/timeout_seconds,
    healthy_threshold, unhealthy_threshold       infra.load_balancer (constants, not settings)
    minimum_healthy_percent, maximum_percent     infra.services.deployment_settings

`RolloutSettings(stack)` holds the same values as literals, for a checkout without stack files
and for tests; tests/rehearsal/test_settings.py fails when they and the platform disagree.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from infra import load_balancer
from infra.config import (
    NS,
    ConfigError,
    StackConfig,
    parse_stack_file_without_secrets,
)
from infra.services import deployment_settings
from service.core.config import Settings as ServiceSettings
from tools.paths import REPO_ROOT


class SettingsError(ValueError):
    """A stack file is missing or holds a value the rehearsal cannot use; the message says which."""


@dataclass(frozen=True)
class RolloutSettings:
    """What decides how long an ECS rolling update takes and whether it drops requests (seconds)."""

    stack: str
    api_desired_count: int = 1
    worker_desired_count: int = 1
    # The ALB target group's health check timing (the ALB checks /healthz; the rehearsal's HAProxy
    # checks the stricter /readyz, which agrees while the database is up: docs/health-checks.md).
    health_check_interval_seconds: float = 10
    health_check_timeout_seconds: float = 5
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3
    # ECS ignores failing checks of a new task for this long (cold start).
    health_check_grace_period_seconds: float = 60
    # The ALB keeps a deregistered target for this long so in-flight requests finish.
    deregistration_delay_seconds: float = 20
    # SIGKILL this long after SIGTERM.
    stop_timeout_seconds: float = 30
    # The API server's cap on finishing in-flight requests after SIGTERM (< stop timeout).
    graceful_shutdown_seconds: float = 20
    # The worker's cap on finishing its batch after SIGTERM (< stop timeout).
    worker_shutdown_seconds: float = 20
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    # Which `shipyard:` key filled each field; fields absent here kept the platform's default.
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def scaled(self, factor: float) -> RehearsalTimings:
        return RehearsalTimings.from_settings(self, factor)


# The fields that are stack settings, and their `shipyard:` keys (the platform model's own).
KEYS: dict[str, str] = {
    "api_desired_count": StackConfig.key_of("api_min_tasks"),
    "worker_desired_count": StackConfig.key_of("worker_min_tasks"),
    **{
        name: StackConfig.key_of(name)
        for name in (
            "health_check_grace_period_seconds",
            "deregistration_delay_seconds",
            "stop_timeout_seconds",
            "graceful_shutdown_seconds",
            "worker_shutdown_seconds",
        )
    },
}

# What an ECS service behind an ALB gets when nobody sets anything (AWS API defaults): the
# "before" column of the rollout model. Target group: interval 30 s, timeout 5 s, 5 healthy and
# 2 unhealthy checks, deregistration delay 300 s; ECS: stopTimeout 30 s, no grace period,
# minimum healthy 100 %, maximum 200 %. uvicorn's default graceful shutdown is unbounded; the
# stop timeout is what bounds it.
AWS_DEFAULTS = RolloutSettings(
    stack="aws-defaults",
    health_check_interval_seconds=30,
    health_check_timeout_seconds=5,
    healthy_threshold=5,
    unhealthy_threshold=2,
    health_check_grace_period_seconds=0,
    deregistration_delay_seconds=300,
    stop_timeout_seconds=30,
    graceful_shutdown_seconds=30,
    worker_shutdown_seconds=30,
    minimum_healthy_percent=100,
    maximum_percent=200,
)


def stack_file(stack: str, root: Path = REPO_ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def load_rollout_settings(stack: str, root: Path = REPO_ROOT) -> RolloutSettings:
    """The rollout settings of `stack`, from `Pulumi.<stack>.yaml` through the platform's model.

    With no stack file at all in the repository (the platform not set up yet) every default is
    used; a stack that is not among existing stack files is an error naming those that exist.
    """
    path = stack_file(stack, root)
    if not path.exists():
        existing = sorted(p.name for p in root.glob("Pulumi.*.yaml"))
        if existing:
            raise SettingsError(
                f"no {path.name} in {root}; stacks found: {', '.join(existing)}. "
                "Pass one of them with --stack."
            )
        return RolloutSettings(stack=stack)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path} is not valid YAML: {exc}") from None
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise SettingsError(f"{path}: `config` must be a mapping of `{NS}<key>` values")
    return settings_from_config(stack, config, source=path.name)


def settings_from_config(
    stack: str, config: Mapping[str, Any], *, source: str = "config"
) -> RolloutSettings:
    """Build the settings from a stack file's `config` mapping (pure: tested without files)."""
    try:
        platform = parse_stack_file_without_secrets(config, stack)
    except ConfigError as error:
        raise SettingsError(f"{source}: {error}") from None
    return rollout_settings(platform, given=config.keys())


def rollout_settings(config: StackConfig, given: Collection[str] = ()) -> RolloutSettings:
    """What the platform deploys for `config`; `given`: the keys the stack file set."""
    deployment = deployment_settings(config, behind_load_balancer=True)
    return RolloutSettings(
        stack=config.stack,
        api_desired_count=config.api_min_tasks,
        worker_desired_count=config.worker_min_tasks,
        health_check_interval_seconds=load_balancer.HEALTH_CHECK_INTERVAL_SECONDS,
        health_check_timeout_seconds=load_balancer.HEALTH_CHECK_TIMEOUT_SECONDS,
        healthy_threshold=load_balancer.HEALTHY_THRESHOLD,
        unhealthy_threshold=load_balancer.UNHEALTHY_THRESHOLD,
        health_check_grace_period_seconds=config.health_check_grace_period_seconds,
        deregistration_delay_seconds=config.deregistration_delay_seconds,
        stop_timeout_seconds=config.stop_timeout_seconds,
        graceful_shutdown_seconds=config.graceful_shutdown_seconds,
        worker_shutdown_seconds=config.worker_shutdown_seconds,
        minimum_healthy_percent=deployment["deployment_minimum_healthy_percent"],
        maximum_percent=deployment["deployment_maximum_percent"],
        sources={name: key for name, key in KEYS.items() if key in given},
    )


# Limits that only cap a wait are never scaled below these: this machine's process start and
# stop times are not scaled, and a cap hit there would be a false failure, not a finding.
MIN_HEALTHY_DEADLINE_SECONDS = 30.0
MIN_CHECK_TIMEOUT_SECONDS = 1.0
MIN_STOP_TIMEOUT_SECONDS = 5.0
# The worker's SQS visibility timeout: the service's own default, and its minimum.
_VISIBILITY = ServiceSettings.model_fields["worker_visibility_timeout_seconds"]
WORKER_VISIBILITY_TIMEOUT_SECONDS = int(_VISIBILITY.default)
MIN_VISIBILITY_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class RehearsalTimings:
    """A stack's settings scaled for a rehearsal on one machine.

    Delays that set the pace (health-check interval, deregistration delay) are multiplied by
    `factor`, so their ratios stay those of the stack; thresholds are counts and stay as they
    are. Caps (grace period, check timeout, stop timeout, graceful shutdown) are multiplied too
    but never fall below a floor, for the reason given above. Factor 0.1 turns the defaults'
    10 s interval into 1 s and the 20 s deregistration delay into 2 s.
    """

    factor: float
    check_interval: float
    check_timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    healthy_deadline: float  # grace period + the checks needed, floored
    deregistration_delay: float
    stop_timeout: float
    graceful_shutdown: int  # GRACEFUL_SHUTDOWN_SECONDS is whole seconds
    worker_shutdown: int  # WORKER_SHUTDOWN_SECONDS is whole seconds
    visibility_timeout: int  # WORKER_VISIBILITY_TIMEOUT_SECONDS: whole seconds, at least 5

    @classmethod
    def from_settings(cls, settings: RolloutSettings, factor: float) -> RehearsalTimings:
        if not 0 < factor <= 1:
            raise SettingsError(f"scale factor {factor} must be in (0, 1]")
        interval = settings.health_check_interval_seconds * factor
        stop_timeout = max(settings.stop_timeout_seconds * factor, MIN_STOP_TIMEOUT_SECONDS)
        # Whole seconds, at least 1, and below the stop timeout as on ECS.
        graceful = min(
            max(1, math.ceil(settings.graceful_shutdown_seconds * factor)),
            max(1, math.ceil(stop_timeout) - 1),
        )
        worker = min(
            max(1, math.ceil(settings.worker_shutdown_seconds * factor)),
            max(1, math.ceil(stop_timeout) - 1),
        )
        checks = settings.healthy_threshold * interval
        return cls(
            factor=factor,
            check_interval=interval,
            check_timeout=max(
                settings.health_check_timeout_seconds * factor, MIN_CHECK_TIMEOUT_SECONDS
            ),
            healthy_threshold=settings.healthy_threshold,
            unhealthy_threshold=settings.unhealthy_threshold,
            healthy_deadline=max(
                settings.health_check_grace_period_seconds * factor + checks,
                MIN_HEALTHY_DEADLINE_SECONDS,
            ),
            deregistration_delay=settings.deregistration_delay_seconds * factor,
            stop_timeout=stop_timeout,
            graceful_shutdown=graceful,
            worker_shutdown=worker,
            visibility_timeout=max(
                MIN_VISIBILITY_TIMEOUT_SECONDS,
                math.ceil(WORKER_VISIBILITY_TIMEOUT_SECONDS * factor),
            ),
        )

    def describe(self) -> str:
        rows = [f"{f.name}={getattr(self, f.name):g}" for f in fields(self)]
        return ", ".join(rows)
