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
    assert outputs["api_service_name"] == f"{stack.config.prefix}-api"
    assert outputs["worker_service_name"] == f"{stack.config.prefix}-worker"
    assert re.match(DIGEST_REFERENCE, outputs["image_ref"])
    for role in ("api", "worker", "migrate"):
        assert ":task-definition/" in outputs[f"{role}_task_definition_arn"]
    assert set(outputs["migrate_network"]) == {"subnets", "security_groups"}
    assert len(outputs["migrate_network"]["security_groups"]) == 1
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
