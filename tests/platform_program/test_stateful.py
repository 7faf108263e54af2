"""The declared list of stateful types covers the program, and prod protects what is on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

from infra.stateful import STATEFUL_TYPES, STATELESS_TYPES
from tools.plan.offline import EvaluatedStack, evaluate_bootstrap

# Where data lives in AWS, written independently of the list: a type matching one of these
# must never be filed as stateless (the cross-check that a reviewer's guess cannot pass alone).
DATA_HOLDING_TYPES = (
    "aws:rds/instance:",
    "aws:rds/cluster:",
    "aws:s3/bucket:",
    "aws:s3/bucketV2:",
    "aws:sqs/queue:",
    "aws:sns/topic:",
    "aws:ecr/repository:",
    "aws:kms/key:",
    "aws:secretsmanager/secret:",
    "aws:cloudwatch/logGroup:",
    "aws:dynamodb/table:",
    "aws:efs/fileSystem:",
    "aws:elasticache/",
    "aws:cloudfront/distribution:",
)


def unclassified(
    stacks: Iterable[EvaluatedStack],
    stateful: Mapping[str, str] = STATEFUL_TYPES,
    stateless: frozenset[str] = STATELESS_TYPES,
) -> dict[str, str]:
    """type -> a URN that declares it, for every custom type on neither list."""
    missing: dict[str, str] = {}
    for stack in stacks:
        for resource in stack.resources:
            if not resource.custom:
                continue  # components hold nothing themselves
            if resource.type not in stateful and resource.type not in stateless:
                missing.setdefault(resource.type, resource.urn)
    return missing


@pytest.fixture(scope="module")
def every_shape(
    staging: EvaluatedStack, prod: EvaluatedStack, variant: Callable[..., EvaluatedStack]
) -> list[EvaluatedStack]:
    """Both stacks, plus the optional parts (EC2 capacity, a custom domain, Docker Hub copy)."""
    return [
        staging,
        prod,
        variant(
            "staging",
            compute_mode="ec2",
            domain_name="app.example.com",
            hosted_zone_id="Z0123456789ABCDEFGHIJ",
            nat_gateways="none",
            alarm_email="oncall@example.com",
        ),
    ]


def test_every_type_the_program_declares_is_classified(every_shape: list[EvaluatedStack]) -> None:
    # The app stacks in every shape, and the bootstrap (state bucket, key, image repository).
    missing = unclassified([*every_shape, evaluate_bootstrap()])
    assert missing == {}, (
        "classify these types in platform/infra/stateful.py (STATEFUL_TYPES if replacing or "
        "deleting one loses data, messages, history or an address; else STATELESS_TYPES): "
        f"{missing}"
    )


def test_a_stateful_type_missing_from_the_list_is_caught(every_shape: list[EvaluatedStack]) -> None:
    # Control: drop the queue from the declared list and the check above names it.
    without_queue = {k: v for k, v in STATEFUL_TYPES.items() if k != "aws:sqs/queue:Queue"}
    missing = unclassified(every_shape, stateful=without_queue)
    assert set(missing) == {"aws:sqs/queue:Queue"}
    assert missing["aws:sqs/queue:Queue"].startswith("urn:pulumi:")


def test_no_data_holding_type_is_filed_as_stateless() -> None:
    assert not STATEFUL_TYPES.keys() & STATELESS_TYPES
    wrongly_stateless = [t for t in STATELESS_TYPES if t.startswith(DATA_HOLDING_TYPES)]
    assert wrongly_stateless == []
    # and the brief's list is all there (RDS, S3, SQS incl. DLQs, SNS, ECR, KMS, secrets, logs, CDN)
    for prefix in DATA_HOLDING_TYPES:
        if prefix.startswith(("aws:dynamodb", "aws:efs", "aws:elasticache")):
            continue  # not used by the program; would be stateful if added
        assert any(t.startswith(prefix) for t in STATEFUL_TYPES), prefix


def test_prod_protects_every_stateful_resource_and_nothing_else(prod: EvaluatedStack) -> None:
    assert prod.config.protect_stateful is True
    stateful = [r for r in prod.resources if r.type in STATEFUL_TYPES]
    # the database, the bucket, 6 queues (3 + DLQs), topics, key, secret, logs, CDN (the image
    # repository lives in the bootstrap, tests/bootstrap checks its protection)
    assert {r.type for r in stateful} >= {
        "aws:rds/instance:Instance",
        "aws:s3/bucket:Bucket",
        "aws:sqs/queue:Queue",
        "aws:sns/topic:Topic",
        "aws:kms/key:Key",
        "aws:secretsmanager/secret:Secret",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudfront/distribution:Distribution",
    }
    unprotected = [r.urn for r in stateful if not r.protect]
    assert unprotected == []
    overprotected = [r.urn for r in prod.resources if r.protect and r.type not in STATEFUL_TYPES]
    assert overprotected == [], "protect only what loses data; the rest must stay replaceable"


def test_staging_protects_nothing(staging: EvaluatedStack) -> None:
    # Control for the transformation: the same program without the setting leaves protect off.
    assert staging.config.protect_stateful is False
    assert [r.urn for r in staging.resources if r.protect] == []


def test_production_refuses_to_run_without_protection(
    variant: Callable[..., EvaluatedStack],
) -> None:
    from infra.config import ConfigError

    with pytest.raises(ConfigError, match="shipyard:protect_stateful must be true in production"):
        variant("prod", protect_stateful="false", image_ref=None)


def test_the_recorded_previews_are_still_the_programs(
    staging: EvaluatedStack, prod: EvaluatedStack
) -> None:
    # tests/delivery/data/plans/ was made from this program under mocks; a renamed resource or
    # a moved component makes them stale: re-record them (the message says how).
    from scripts.deploy.plan_json import load_plan

    plans = Path(__file__).resolve().parents[1] / "delivery" / "data" / "plans"
    by_stack = {"staging": staging, "prod": prod}
    stale: list[str] = []
    for path in sorted(plans.glob("*.json*")):
        plan = load_plan(path)
        known = {r.urn: r.type for r in by_stack[plan.stack or ""].resources}
        stale += [f"{path.name}: {c.urn}" for c in plan.changes if known.get(c.urn) != c.type]
    assert stale == [], (
        "re-record with `.venv/bin/python -m tests.delivery.record_plans` "
        f"(and update prod-replace-database.events.jsonl by hand): {stale}"
    )
