"""Messaging: built from the service's own topology; every queue has a DLQ and encryption."""

from __future__ import annotations

import json

from service.messaging.topology import TOPOLOGY
from tools.plan.offline import EvaluatedStack

from .queries import environment


def queues_by_name(stack: EvaluatedStack) -> dict[str, dict[str, object]]:
    """The topology's queues (the functions' failed-invocation queues are tested with them)."""
    return {
        r.inputs["name"]: r.inputs
        for r in stack.of_type("aws:sqs/queue:Queue")
        if r.name.startswith("messaging-")
    }


def test_topics_and_queues_are_the_topology(stack: EvaluatedStack) -> None:
    prefix = stack.config.prefix
    topics = {r.inputs["name"]: r.inputs for r in stack.of_type("aws:sns/topic:Topic")}
    for topic in TOPOLOGY.topics:
        assert topics[topic.physical_name(prefix)]["fifoTopic"] is topic.fifo
    queues = queues_by_name(stack)
    for queue in TOPOLOGY.queues:
        main = queues[queue.physical_name(prefix)]
        assert main["fifoQueue"] is queue.fifo
        assert main["visibilityTimeoutSeconds"] == queue.visibility_timeout_seconds
        assert main["messageRetentionSeconds"] == queue.message_retention_seconds
        assert main["receiveWaitTimeSeconds"] == queue.receive_wait_time_seconds
    assert len(queues) == 2 * len(TOPOLOGY.queues), "each queue and its DLQ, nothing else"


def test_every_queue_has_a_dead_letter_queue_and_encryption(stack: EvaluatedStack) -> None:
    arns = {r.state["arn"]: r for r in stack.of_type("aws:sqs/queue:Queue")}
    allow_policies = {
        r.inputs["queueUrl"]: json.loads(r.inputs["redriveAllowPolicy"])
        for r in stack.of_type("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")
    }
    for queue in TOPOLOGY.queues:
        main = stack.named("aws:sqs/queue:Queue", f"messaging-{queue.key}")
        assert main.inputs["sqsManagedSseEnabled"] is True
        redrive = json.loads(main.inputs["redrivePolicy"])
        assert redrive["maxReceiveCount"] == queue.max_receive_count
        dlq = arns[redrive["deadLetterTargetArn"]]
        assert dlq.inputs["name"] == queue.dlq_physical_name(stack.config.prefix)
        assert dlq.inputs["sqsManagedSseEnabled"] is True
        assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
        # The DLQ accepts redrives from its own queue only.
        assert allow_policies[dlq.state["url"]] == {
            "redrivePermission": "byQueue",
            "sourceQueueArns": [main.state["arn"]],
        }
    for topic in stack.of_type("aws:sns/topic:Topic"):
        assert topic.inputs.get("kmsMasterKeyId"), f"{topic.urn}: topic not encrypted"


def test_queue_policies_admit_only_their_topic(stack: EvaluatedStack) -> None:
    topic_arns = stack.outputs["topic_arns"]
    queue_arns = {r.state["url"]: r.state["arn"] for r in stack.of_type("aws:sqs/queue:Queue")}
    policies = stack.of_type("aws:sqs/queuePolicy:QueuePolicy")
    assert len(policies) == len({s.queue for s in TOPOLOGY.subscriptions})
    for policy in policies:
        (statement,) = json.loads(policy.inputs["policy"])["Statement"]
        queue_arn = queue_arns[policy.inputs["queueUrl"]]
        key = next(
            q.key
            for q in TOPOLOGY.queues
            if stack.outputs["queue_urls"][q.key] == policy.inputs["queueUrl"]
        )
        expected = [topic_arns[s.topic] for s in TOPOLOGY.subscriptions_of(key)]
        assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == queue_arn
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": expected}}


def test_subscriptions_deliver_raw_with_the_topology_filters(stack: EvaluatedStack) -> None:
    subscriptions = [
        s
        for s in stack.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.inputs["protocol"]
        == "sqs"  # functions, e-mail and SMS: tests/platform_program/test_functions.py
    ]
    by_pair = {(s.inputs["topic"], s.inputs["endpoint"]): s.inputs for s in subscriptions}
    queue_arns = {r.inputs["name"]: r.state["arn"] for r in stack.of_type("aws:sqs/queue:Queue")}
    for sub in TOPOLOGY.subscriptions:
        topic_arn = stack.outputs["topic_arns"][sub.topic]
        queue_arn = queue_arns[TOPOLOGY.queue(sub.queue).physical_name(stack.config.prefix)]
        found = by_pair[(topic_arn, queue_arn)]
        assert found["protocol"] == "sqs"
        assert found["rawMessageDelivery"] is sub.raw_message_delivery
        expected = sub.filter_policy_dict()
        assert (json.loads(found["filterPolicy"]) if "filterPolicy" in found else None) == expected
    assert len(subscriptions) == len(TOPOLOGY.subscriptions)


def test_services_learn_topics_and_queues_through_the_topology_env_vars(
    stack: EvaluatedStack,
) -> None:
    for role in ("api", "worker"):
        env = environment(stack, role)
        for topic in TOPOLOGY.topics:
            assert env[topic.env_var] == stack.outputs["topic_arns"][topic.key]
        for queue in TOPOLOGY.queues:
            if queue.env_var:
                assert env[queue.env_var] == stack.outputs["queue_urls"][queue.key]
