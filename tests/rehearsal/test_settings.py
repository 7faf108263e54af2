"""Reading a stack's rollout settings, scaling them for a rehearsal, and agreeing with platform/."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import StackConfig, parse_stack_file_without_secrets
from tools.paths import REPO_ROOT
from tools.rehearsal.settings import (
    KEYS,
    MIN_STOP_TIMEOUT_SECONDS,
    RolloutSettings,
    SettingsError,
    load_rollout_settings,
    rollout_settings,
    settings_from_config,
)

# A stack file's `config:` with only what the platform requires; everything else takes its
# default. The secret (jwt_secret) is encrypted, as in a real stack file: the rehearsal does not
# need it.
MINIMAL: dict[str, Any] = {
    "aws:region": "us-east-1",
    "shipyard:environment": "staging",
    "shipyard:image_repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shipyard",
    "shipyard:workload_boundary_arn": (
        "arn:aws:iam::123456789012:policy/shipyard-ci-workload-boundary"
    ),
    "shipyard:vpc_cidr": "10.20.0.0/16",
    "shipyard:jwt_secret": {"secure": "AAABAMc0ffee"},
}


def differences(ours: RolloutSettings, theirs: RolloutSettings) -> dict[str, tuple[Any, Any]]:
    return {
        f.name: (getattr(ours, f.name), getattr(theirs, f.name))
        for f in fields(RolloutSettings)
        if f.compare and getattr(ours, f.name) != getattr(theirs, f.name)
    }


def test_load_without_any_stack_file_uses_the_defaults(tmp_path: Path) -> None:
    settings = load_rollout_settings("staging", root=tmp_path)
    assert settings == RolloutSettings(stack="staging")
    assert settings.sources == {}


def test_load_reads_the_stack_file_and_says_which_keys(tmp_path: Path) -> None:
    config = {
        **MINIMAL,
        "aws:region": "eu-west-1",
        "shipyard:deregistration_delay_seconds": 15,
        "shipyard:api_min_tasks": "3",
    }
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump({"config": config}))
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
    with pytest.raises(SettingsError, match="shipyard:stop_timeout_seconds") as caught:
        settings_from_config("staging", {**MINIMAL, "shipyard:stop_timeout_seconds": value})
    assert "1 configuration problem(s)" in str(caught.value)


@pytest.mark.parametrize(
    "key",
    [
        "shipyard:health_check_interval_seconds",  # the ALB's timing is the program's, not a key
        "shipyard:healthy_threshold",
        "shipyard:deployment_minimum_healthy_percent",
    ],
)
def test_a_key_the_platform_refuses_is_refused_here_too(key: str) -> None:
    settings_from_config("staging", MINIMAL)  # the control: the same file without it is fine
    with pytest.raises(SettingsError, match=f"{key} is not a known setting"):
        settings_from_config("staging", {**MINIMAL, key: 5})


def test_a_wrong_setting_the_rehearsal_does_not_use_still_stops_it() -> None:
    """One reader: the rehearsal refuses a stack file the program would refuse."""
    with pytest.raises(SettingsError, match="shipyard:nat_gateways='two' is not allowed"):
        settings_from_config("staging", {**MINIMAL, "shipyard:nat_gateways": "two"})


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
    """The rehearsal's literal defaults are the Pulumi program's: a change there fails here."""
    platform = rollout_settings(parse_stack_file_without_secrets(MINIMAL, "staging"))
    differing = differences(RolloutSettings(stack="staging"), platform)
    assert not differing, f"rehearsal default != platform default (ours, theirs): {differing}"


def test_a_disagreement_with_the_platform_is_seen() -> None:
    """The control of the test above: a stack that sets one value differs in exactly it."""
    changed = {**MINIMAL, "shipyard:deregistration_delay_seconds": 45}
    platform = rollout_settings(parse_stack_file_without_secrets(changed, "staging"))
    assert differences(RolloutSettings(stack="staging"), platform) == {
        "deregistration_delay_seconds": (20, 45)
    }


def test_every_key_the_rehearsal_names_is_a_platform_setting() -> None:
    assert set(KEYS.values()) <= set(StackConfig.config_fields().values())
