"""Reading a stack's rollout settings, scaling them for a rehearsal, and agreeing with platform/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.paths import REPO_ROOT
from tools.rehearsal.settings import (
    KEYS,
    MIN_STOP_TIMEOUT_SECONDS,
    RolloutSettings,
    SettingsError,
    load_rollout_settings,
    settings_from_config,
)


def test_load_without_any_stack_file_uses_the_defaults(tmp_path: Path) -> None:
    settings = load_rollout_settings("staging", root=tmp_path)
    assert settings == RolloutSettings(stack="staging")
    assert settings.sources == {}


def test_load_reads_the_stack_file_and_says_which_keys(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.prod.yaml").write_text(
        "config:\n"
        "  aws:region: eu-west-1\n"
        "  shipyard:deregistration_delay_seconds: 15\n"
        "  shipyard:api_min_tasks: '3'\n"
        "  shipyard:jwt_secret:\n"
        "    secure: AAABAMc0ffee\n"
    )
    settings = load_rollout_settings("prod", root=tmp_path)
    assert settings.deregistration_delay_seconds == 15
    assert settings.api_desired_count == 3
    assert settings.stop_timeout_seconds == RolloutSettings(stack="x").stop_timeout_seconds
    assert settings.sources == {
        "deregistration_delay_seconds": "shipyard:deregistration_delay_seconds",
        "api_desired_count": "shipyard:api_min_tasks",
    }


def test_load_of_an_unknown_stack_names_the_existing_ones(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.staging.yaml").write_text("config: {}\n")
    with pytest.raises(SettingsError, match=r"no Pulumi\.qa\.yaml.*Pulumi\.staging\.yaml"):
        load_rollout_settings("qa", root=tmp_path)


@pytest.mark.parametrize("value", ["soon", -1, {"secure": "x"}])
def test_a_value_that_is_not_a_usable_number_is_refused_with_its_key(value: object) -> None:
    with pytest.raises(SettingsError, match="shipyard:stop_timeout_seconds"):
        settings_from_config("staging", {"shipyard:stop_timeout_seconds": value})


def test_scaling_keeps_the_ratio_of_the_delays_and_the_thresholds() -> None:
    settings = RolloutSettings(
        stack="s", health_check_interval_seconds=10, deregistration_delay_seconds=30
    )
    timings = settings.scaled(0.1)
    assert timings.check_interval == pytest.approx(1.0)
    assert timings.deregistration_delay == pytest.approx(3.0)
    assert timings.deregistration_delay / timings.check_interval == pytest.approx(3.0)
    assert (timings.healthy_threshold, timings.unhealthy_threshold) == (2, 3)


def test_scaling_never_cuts_a_cap_below_its_floor_and_keeps_shutdown_below_stop() -> None:
    timings = RolloutSettings(stack="s").scaled(0.01)
    assert timings.stop_timeout == MIN_STOP_TIMEOUT_SECONDS
    assert 1 <= timings.graceful_shutdown < timings.stop_timeout
    assert 1 <= timings.worker_shutdown < timings.stop_timeout


@pytest.mark.parametrize("factor", [0, -0.5, 1.5])
def test_scaling_factor_out_of_range_is_refused(factor: float) -> None:
    with pytest.raises(SettingsError, match="scale factor"):
        RolloutSettings(stack="s").scaled(factor)


@pytest.mark.parametrize("path", sorted(REPO_ROOT.glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_every_stack_file_of_the_repository_is_readable(path: Path) -> None:
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    settings = load_rollout_settings(stack)
    assert settings.graceful_shutdown_seconds < settings.stop_timeout_seconds


def test_defaults_match_what_the_platform_deploys() -> None:
    """The rehearsal's defaults are the Pulumi program's: a change there must show up here."""
    config = pytest.importorskip("infra.config", reason="platform/ not in this tree yet")
    load_balancer = pytest.importorskip("infra.load_balancer")
    services = pytest.importorskip("infra.services")
    minimal = {  # the keys the platform requires; everything else takes its default
        "shipyard:environment": "staging",
        "aws:region": "us-east-1",
        "shipyard:github_repository": "octo/shipyard",
        "shipyard:github_environment": "staging",
        "shipyard:image_repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shipyard",
        "shipyard:workload_boundary_arn": (
            "arn:aws:iam::123456789012:policy/shipyard-ci-workload-boundary"
        ),
        "shipyard:vpc_cidr": "10.20.0.0/16",
        "shipyard:jwt_secret": "x" * 48,
    }
    stack = config.parse_stack_config(minimal, "staging")
    deployment = services.deployment_settings(stack, behind_load_balancer=True)
    ours = RolloutSettings(stack="staging")
    platform = {
        "api_desired_count": stack.api.min_tasks,
        "worker_desired_count": stack.worker.min_tasks,
        "health_check_interval_seconds": load_balancer.HEALTH_CHECK_INTERVAL_SECONDS,
        "health_check_timeout_seconds": load_balancer.HEALTH_CHECK_TIMEOUT_SECONDS,
        "healthy_threshold": load_balancer.HEALTHY_THRESHOLD,
        "unhealthy_threshold": load_balancer.UNHEALTHY_THRESHOLD,
        "health_check_grace_period_seconds": stack.health_check_grace_period_seconds,
        "deregistration_delay_seconds": stack.deregistration_delay_seconds,
        "stop_timeout_seconds": stack.stop_timeout_seconds,
        "graceful_shutdown_seconds": stack.graceful_shutdown_seconds,
        "worker_shutdown_seconds": stack.worker_shutdown_seconds,
        "minimum_healthy_percent": deployment["deployment_minimum_healthy_percent"],
        "maximum_percent": deployment["deployment_maximum_percent"],
    }
    assert set(platform) == set(KEYS)
    differing = {
        name: (getattr(ours, name), value)
        for name, value in platform.items()
        if getattr(ours, name) != value
    }
    assert not differing, f"rehearsal default != platform default (ours, theirs): {differing}"
