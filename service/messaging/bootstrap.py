"""Create the topology on a local AWS emulator, from the same declaration Pulumi uses.

Returns the environment (topic ARNs, queue URLs, under the names the settings read) that the
API, relay and worker need. Idempotent: SNS and SQS answer an existing resource's id on re-create.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from service.core.config import Settings
from service.messaging.aws import sns_client, sqs_client
from service.messaging.topology import TOPOLOGY, Queue, Topology

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeNameType


def create_topology(
    settings: Settings, *, prefix: str = "local", topology: Topology = TOPOLOGY
) -> dict[str, str]:
    sns, sqs = sns_client(settings), sqs_client(settings)
    env: dict[str, str] = {}
    topic_arns: dict[str, str] = {}
    for topic in topology.topics:
        attributes = (
            {"FifoTopic": "true", "ContentBasedDeduplication": "false"} if topic.fifo else {}
        )
        arn = sns.create_topic(Name=topic.physical_name(prefix), Attributes=attributes)["TopicArn"]
        topic_arns[topic.key] = arn
        env[topic.env_var] = arn

    for queue in topology.queues:
        dlq_url = sqs.create_queue(
            QueueName=queue.dlq_physical_name(prefix), Attributes=_dlq_attributes(queue)
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        url = sqs.create_queue(
            QueueName=queue.physical_name(prefix), Attributes=_queue_attributes(queue, dlq_arn)
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        if queue.env_var:
            env[queue.env_var] = url
        env[queue.dlq_env_var] = dlq_url
        for sub in topology.subscriptions_of(queue.key):
            attributes = {"RawMessageDelivery": "true" if sub.raw_message_delivery else "false"}
            policy = sub.filter_policy_dict()
            if policy is not None:
                attributes["FilterPolicy"] = json.dumps(policy)
            sns.subscribe(
                TopicArn=topic_arns[sub.topic],
                Protocol="sqs",
                Endpoint=arn,
                Attributes=attributes,
                ReturnSubscriptionArn=True,
            )
    return env


def _dlq_attributes(queue: Queue) -> dict[QueueAttributeNameType, str]:
    attributes: dict[QueueAttributeNameType, str] = {
        "MessageRetentionPeriod": str(queue.dlq_retention_seconds)
    }
    if queue.fifo:
        attributes["FifoQueue"] = "true"
    return attributes


def _queue_attributes(queue: Queue, dlq_arn: str) -> dict[QueueAttributeNameType, str]:
    attributes: dict[QueueAttributeNameType, str] = {
        "VisibilityTimeout": str(queue.visibility_timeout_seconds),
        "MessageRetentionPeriod": str(queue.message_retention_seconds),
        "ReceiveMessageWaitTimeSeconds": str(queue.receive_wait_time_seconds),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
        ),
    }
    if queue.fifo:
        # Deduplication comes from the publisher's MessageDeduplicationId (the event id).
        attributes.update({"FifoQueue": "true", "ContentBasedDeduplication": "false"})
    return attributes
