"""Stack settings: both stack files are valid; every wrong setting stops with a clear message."""

from __future__ import annotations

import pytest

from infra.config import ConfigError, parse_stack_config
from tools.plan.offline import raw_stack_config, run_program

from .conftest import STAGING_DIGEST


def problems(stack: str, **settings: str | None) -> str:
    overrides = {k if ":" in k else f"shipyard:{k}": v for k, v in settings.items()}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw_stack_config(stack, overrides), stack)
    return str(caught.value)


def test_both_stack_files_are_valid() -> None:
    staging = parse_stack_config(raw_stack_config("staging"), "staging")
    prod = parse_stack_config(raw_stack_config("prod"), "prod")
    assert (staging.environment, prod.environment) == ("staging", "production")
    assert prod.db_multi_az
    assert prod.db_deletion_protection
    assert prod.api.min_tasks >= 2
    assert prod.worker.min_tasks >= 2


def test_image_ref_is_parsed_into_its_parts() -> None:
    config = parse_stack_config(
        raw_stack_config("prod", {"shipyard:image_ref": STAGING_DIGEST}), "prod"
    )
    assert config.image_ref is not None
    assert config.image_ref.repository == "shipyard"
    assert config.image_ref.repository_arn == (
        "arn:aws:ecr:us-east-1:123456789012:repository/shipyard"
    )


@pytest.mark.parametrize(
    ("stack", "settings", "expected"),
    [
        (
            "staging",
            {"compute_mode": "lambda"},
            "shipyard:compute_mode='lambda' is not allowed; use one of: fargate, fargate_spot, ec2",
        ),
        ("prod", {"api_min_tasks": "1"}, "shipyard:api_min_tasks=1: production needs at least 2"),
        ("prod", {"worker_min_tasks": "1"}, "shipyard:worker_min_tasks=1: production needs"),
        ("prod", {"db_multi_az": "false"}, "shipyard:db_multi_az must be true in production"),
        ("prod", {"db_deletion_protection": "false"}, "db_deletion_protection must be true"),
        (
            "staging",
            {"vpc_cidr": "10.0.0.300/16"},
            "shipyard:vpc_cidr='10.0.0.300/16' is not an IPv4",
        ),
        ("staging", {"vpc_cidr": "10.0.0.1/16"}, "is not an IPv4 CIDR block"),
        ("staging", {"vpc_cidr": "8.8.0.0/16"}, "is not a private (RFC 1918) range"),
        ("staging", {"vpc_cidr": "10.0.0.0/24"}, "has prefix /24; use /16 to /20"),
        (
            "prod",
            {"blue_green_bake_minutes": "2000"},
            "shipyard:blue_green_bake_minutes=2000 is out of range; allowed: 0..1440",
        ),
        ("staging", {"blue_green_bake_minutes": "soon"}, "is not a whole number; use 0..1440"),
        (
            "staging",
            {"image_ref": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shipyard:latest"},
            "is not an ECR digest reference",
        ),
        (
            "staging",
            {"image_ref": STAGING_DIGEST.replace("us-east-1", "eu-west-1")},
            "image_ref is in region eu-west-1 but the stack deploys to us-east-1",
        ),
        (
            "staging",
            {"graceful_shutdown_seconds": "30"},
            "shipyard:graceful_shutdown_seconds=30 must be below shipyard:stop_timeout_seconds=30",
        ),
        ("staging", {"worker_shutdown_seconds": "45"}, "worker_shutdown_seconds=45 must be below"),
        ("staging", {"stop_timeout_seconds": "300"}, "stop_timeout_seconds=300 is out of range"),
        (
            "staging",
            {"api_memory": "3000"},
            "shipyard:api_memory=3000 does not fit shipyard:api_cpu=512",
        ),
        ("staging", {"api_cpu": "300"}, "shipyard:api_cpu=300 is not a Fargate size"),
        ("staging", {"api_max_tasks": "0"}, "api_max_tasks=0 is out of range"),
        (
            "staging",
            {"worker_min_tasks": "4"},
            "worker_max_tasks=3 is below shipyard:worker_min_tasks=4",
        ),
        ("staging", {"compute_mod": "ec2"}, "shipyard:compute_mod is not a known setting"),
        ("staging", {"github_repository": None}, "shipyard:github_repository is required"),
        (
            "staging",
            {"github_repository": "not a repo"},
            "is not a GitHub repository as owner/name",
        ),
        ("staging", {"environment": "prod"}, "use one of: staging, production"),
        ("staging", {"aws:region": None}, "aws:region is required"),
        ("staging", {"log_retention_days": "10"}, "is not a CloudWatch retention period"),
        ("staging", {"db_multi_az": "yes"}, "shipyard:db_multi_az='yes' is not a boolean"),
        ("staging", {"domain_name": "app.example.com"}, "domain_name and shipyard:hosted_zone_id"),
        ("staging", {"alb_origin": "public"}, "origin_verify_secret is required"),
        (
            "staging",
            {"jwt_secret": "too-short"},
            "jwt_secret must be a random secret of at least 32",
        ),
        ("staging", {"jwt_secret": "change-me-" * 5}, "jwt_secret must be a random secret"),
        ("staging", {"nat_gateways": "two"}, "use one of: single, per_az, none"),
        (
            "prod",
            {"blue_green_bake_minutes": "120"},
            "shipyard:blue_green_bake_minutes=120: `pulumi up` waits",
        ),
        (
            "staging",
            {"excluded_zone_ids": "us-east-1a"},
            "shipyard:excluded_zone_ids: 'us-east-1a'",
        ),
        (
            "staging",
            {"alb_origin": "public", "origin_verify_secret": "s" * 40},
            "shipyard:alb_origin=public needs shipyard:domain_name",
        ),
    ],
)
def test_wrong_setting_names_key_and_what_is_allowed(
    stack: str, settings: dict[str, str | None], expected: str
) -> None:
    assert expected in problems(stack, **settings)


def test_every_problem_is_reported_at_once() -> None:
    message = problems("prod", compute_mode="k8s", api_min_tasks="1", vpc_cidr="banana")
    assert "3 configuration problem(s)" in message
    for key in ("compute_mode", "api_min_tasks", "vpc_cidr"):
        assert f"shipyard:{key}" in message
    assert "Pulumi.prod.yaml" in message  # and where to fix them


def test_bad_setting_stops_the_program_before_any_resource() -> None:
    raw = raw_stack_config("prod", {"shipyard:api_min_tasks": "1"})
    run = run_program("prod", raw)
    assert isinstance(run.error, ConfigError)
    declared = [r for r in run.resources if r.type != "pulumi:pulumi:Stack"]
    assert declared == []
    assert run.invokes == []


def test_excluded_zone_ids_default_to_the_regions_known_short_zones() -> None:
    staging = parse_stack_config(raw_stack_config("staging"), "staging")
    assert staging.excluded_zone_ids == ("use1-az3",)
    elsewhere = parse_stack_config(raw_stack_config("staging", {"aws:region": "eu-west-1"}), "s")
    assert elsewhere.excluded_zone_ids == ()
    none = raw_stack_config("staging", {"shipyard:excluded_zone_ids": "[]"})
    assert parse_stack_config(none, "staging").excluded_zone_ids == ()
