"""Stack outputs: the names and shapes CI, deploy scripts and the rehearsal rely on."""

from __future__ import annotations

import re

from infra.program import OUTPUT_NAMES
from service.messaging.topology import TOPOLOGY
from tools.plan.offline import EvaluatedStack, evaluate_stack

from .queries import DIGEST_REFERENCE


def test_every_contract_output_is_exported(stack: EvaluatedStack) -> None:
    assert set(stack.outputs) == set(OUTPUT_NAMES)
    outputs = stack.outputs
    assert outputs["url"].startswith("https://")
    assert outputs["cluster_name"] == stack.config.prefix
    assert re.match(DIGEST_REFERENCE, outputs["image_ref"])
    assert_services_output(stack)
    expected_queues = {q.key for q in TOPOLOGY.queues} | {f"{q.key}-dlq" for q in TOPOLOGY.queues}
    assert set(outputs["queue_urls"]) == expected_queues
    assert set(outputs["topic_arns"]) == {t.key for t in TOPOLOGY.topics}
    assert set(outputs["log_group_names"]) == {"api", "worker", "migrate", "prune-logins"}
    assert outputs["web_bucket_name"].startswith(f"{stack.config.prefix}-web-")
    assert outputs["distribution_id"]


def test_evaluations_do_not_leak_into_each_other(staging: EvaluatedStack) -> None:
    again = evaluate_stack("staging")
    assert [(r.type, r.name) for r in again.resources if r.custom] != []
    assert sorted((r.type, r.name) for r in again.resources) == sorted(
        (r.type, r.name) for r in staging.resources
    )
    assert again.outputs == staging.outputs


def assert_services_output(stack: EvaluatedStack) -> None:
    """The `services` output, the deploy scripts' only way to the services
    (scripts/deploy/stack_outputs.py): every declared service by its name, with the keys they
    read. run_migration.py runs each `task` with its task definition and network;
    verify_rollout.py verifies each web and worker service."""
    prefix = stack.config.prefix
    services = stack.outputs["services"]
    assert {k: v["kind"] for k, v in services.items()} == {
        "api": "web",
        "worker": "worker",
        "migrate": "task",
        "prune-logins": "scheduled",
    }
    for name, entry in services.items():
        assert {"kind", "task_definition_arn", "service_name", "network"} <= set(entry), name
        assert ":task-definition/" in entry["task_definition_arn"], name
        assert set(entry["network"]) == {"subnets", "security_groups"}, name
        assert len(entry["network"]["security_groups"]) == 1, name
        assert entry["network"]["subnets"], name
        long_running = entry["kind"] in ("web", "worker")
        assert entry["service_name"] == (f"{prefix}-{name}" if long_running else None), name
    # The legacy per-name outputs are gone: nothing addresses a service by a name any more.
    assert not {k for k in stack.outputs if k.startswith(("api_", "worker_", "migrate_"))}
