"""Stack settings: both stack files are valid; every wrong setting stops with a clear message."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import yaml

from infra.config import (
    API_CONNECTIONS_PER_PROCESS,
    WORKER_CONNECTIONS_PER_TASK,
    ConfigError,
    db_max_connections,
    parse_stack_config,
    parse_stack_file_without_secrets,
)
from service.core.config import Settings as ServiceSettings
from tools.paths import REPO_ROOT
from tools.plan.offline import EvaluatedStack, raw_stack_config, run_program

from .conftest import STAGING_DIGEST
from .queries import environment


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
        ("staging", {"github_repository": "octo/shop"}, "github_repository is not a known"),
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
        (
            "staging",
            {"origin_verify_secret": "s" * 40 + "*"},
            "origin_verify_secret is matched by the load balancer as a pattern",
        ),
        (
            "staging",
            {"origin_verify_secret": "s" * 40 + "?"},
            "origin_verify_secret is matched by the load balancer as a pattern",
        ),
        (
            "staging",
            {"origin_verify_secret": "s" * 129},
            "origin_verify_secret is matched by the load balancer as a pattern: at most 128",
        ),
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


def test_origin_secret_at_albs_header_value_limit_is_accepted_control() -> None:
    """The control for the refusals above: 128 literal characters (token_urlsafe's alphabet)."""
    secret = "Ab0-_" * 25 + "xyz"
    config = parse_stack_config(
        raw_stack_config("staging", {"shipyard:origin_verify_secret": secret}), "staging"
    )
    assert len(secret) == 128
    assert config.origin_verify_secret == secret


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


# --- issue 14: uvicorn processes per api task, within the database's connection limit -----------


def test_api_processes_default_to_one_per_vcpu_and_reach_the_container(
    staging: EvaluatedStack, variant: Callable[..., EvaluatedStack]
) -> None:
    assert staging.config.api_cpu == 512
    assert staging.config.api_processes == 1  # half a vCPU: still one process
    assert environment(staging, "api")["WEB_CONCURRENCY"] == "1"
    assert "WEB_CONCURRENCY" not in environment(staging, "worker")
    larger = parse_stack_config(
        raw_stack_config(
            "staging",
            {
                "shipyard:api_cpu": "2048",
                "shipyard:api_memory": "4096",
                "shipyard:api_max_tasks": "1",
            },
        ),
        "staging",
    )
    assert larger.api_processes == 2
    two = variant("staging", api_processes_per_task="2", api_max_tasks="1")
    assert environment(two, "api")["WEB_CONCURRENCY"] == "2"


def test_connection_budget_uses_the_services_own_pool_defaults() -> None:
    """The program cannot import SQLAlchemy, so it writes the pool sizes down: they must agree."""
    fields = ServiceSettings.model_fields
    defaults = ServiceSettings(environment="local")
    async_pool = fields["db_pool_size"].default + fields["db_max_overflow"].default
    assert async_pool + defaults.api_sync_pool_size == API_CONNECTIONS_PER_PROCESS
    # build_worker: pool_size = WORKER_CONCURRENCY + 1, max_overflow = 2
    assert fields["worker_concurrency"].default + 1 + 2 == WORKER_CONNECTIONS_PER_TASK
    assert fields["web_concurrency"].default == 1


def test_rds_max_connections_follow_the_postgresql_default_formula() -> None:
    # LEAST(DBInstanceClassMemory/9531392, 5000), DBInstanceClassMemory assumed to be the class's
    # memory less the larger of 256 MiB and 10 % (infra/config.py; test_connection_peak.py).
    assert db_max_connections("db.t4g.micro") == (1024**3 - 256 * 1024**2) // 9_531_392 == 84
    assert db_max_connections("db.m7g.large") == (8 * 1024**3 * 9 // 10) // 9_531_392 == 811
    assert db_max_connections("db.r7g.16xlarge") == 5000  # the cap
    assert "is not an RDS instance class this stack knows" in problems(
        "staging", db_instance_class="db.x9.huge"
    )


def test_too_many_connections_for_the_instance_class_stop_the_program() -> None:
    # staging, db.t4g.small: 197 - 5 reserved = 192. During a deploy the worker's 3 tasks run
    # twice (6 x 7) and a migration adds 2: 44, leaving 148, so three api tasks of one process
    # (twice 3 x 19 = 114) fit and four (152) do not.
    fits = parse_stack_config(raw_stack_config("staging"), "staging")
    assert fits.db_connections_at_peak == 158  # the control: below the limit
    message = problems("staging", api_max_tasks="4")
    assert "shipyard:api_max_tasks=4 x 2: blue and green both run through the bake" in message
    assert "x shipyard:api_processes_per_task=1 x" in message
    assert "= 196 database connections, above the 192" in message
    assert "shipyard:db_instance_class=db.t4g.small" in message
    assert "above the 192" in problems("staging", api_processes_per_task="2")
    run = run_program(
        "staging", raw_stack_config("staging", {"shipyard:api_processes_per_task": "4"})
    )
    assert isinstance(run.error, ConfigError)
    assert [r for r in run.resources if r.type != "pulumi:pulumi:Stack"] == []


def test_the_program_refuses_a_misspelt_key_the_engine_hands_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`pulumi up` passes the whole config bag in PULUMI_CONFIG; known keys are read through
    pulumi.Config, the rest listed from that bag, so a typo cannot fall back to a default."""
    raw = raw_stack_config("staging")
    control = run_program("staging", raw)
    assert control.error is None  # the control: the same stack without the typo deploys
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"shipyard:compute_mod": "ec2"}))
    run = run_program("staging", raw)
    assert isinstance(run.error, ConfigError)
    assert "shipyard:compute_mod is not a known setting" in str(run.error)


def stack_file_config(stack: str) -> dict[str, object]:
    document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
    return dict(document["config"])


def test_a_stack_file_read_without_secrets_validates_everything_else() -> None:
    """The rehearsal's view: no secret is read, none is made up, every other rule still holds."""
    config = {**stack_file_config("prod"), "shipyard:jwt_secret": {"secure": "AAAB"}}
    view = parse_stack_file_without_secrets(config, "prod")
    assert view.api_min_tasks == parse_stack_config(raw_stack_config("prod"), "prod").api_min_tasks
    with pytest.raises(AttributeError):
        _ = view.jwt_secret  # unset, not a stand-in
    with pytest.raises(ConfigError, match="shipyard:api_min_tasks=1: production needs"):
        parse_stack_file_without_secrets({**config, "shipyard:api_min_tasks": 1}, "prod")
    with pytest.raises(ConfigError, match="stop_timeout_seconds is encrypted in the stack file"):
        parse_stack_file_without_secrets(
            {**config, "shipyard:stop_timeout_seconds": {"secure": "AAAB"}}, "prod"
        )
    # A rule that needs a secret is skipped, the others across the same keys still run.
    public = {**config, "shipyard:alb_origin": "public"}
    with pytest.raises(ConfigError) as caught:
        parse_stack_file_without_secrets(public, "prod")
    assert "alb_origin=public needs shipyard:domain_name" in str(caught.value)
    assert "origin_verify_secret" not in str(caught.value)
