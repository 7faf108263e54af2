"""Create the topology on a local AWS emulator, from the same declaration Pulumi uses.

Returns the environment (topic ARNs, queue URLs, under the names the settings read) that the
API, relay and worker need. Idempotent: SNS and SQS answer an existing resource's id on re-create.

Functions (Lambda on AWS) cannot run on the emulator, so each one gets a local stand-in: an SQS
queue subscribed to the function's topics with the function's filter policies and raw delivery
off (each message body is SNS's own envelope, as SNS would hand it to Lambda), with a
dead-letter queue after 1 + `async_retries` receives in the role of the on-failure destination.
`python -m tools.local function NAME` (tools/local/function_runner.py) feeds the handler from it.
The functions are services.yaml's (`kind: function`): pass the topology joined with them
(`tools.local.function_runner.declared_topology()`); `TOPOLOGY` alone has none, as the service's
own processes need none.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from service.core.config import Settings
from service.messaging.aws import sns_client, sqs_client
from service.messaging.topology import TOPOLOGY, Function, Queue, Topology

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
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
            _subscribe_queue(
                sns,
                topic_arn=topic_arns[sub.topic],
                queue_arn=arn,
                raw=sub.raw_message_delivery,
                filter_policy=sub.filter_policy_dict(),
            )

    for function in topology.functions:
        env.update(_function_stand_in(sns, sqs, topology, function, topic_arns, prefix))
    return env


def function_queue_env_var(function: Function) -> str:
    """Where the local runner finds the queue that stands in for the function's subscriptions."""
    return f"{_env_name(function.key)}_FUNCTION_QUEUE_URL"


def function_dlq_env_var(function: Function) -> str:
    """The local stand-in for the function's on-failure destination."""
    return f"{_env_name(function.key)}_FUNCTION_DLQ_URL"


def _function_stand_in(
    sns: SNSClient,
    sqs: SQSClient,
    topology: Topology,
    function: Function,
    topic_arns: dict[str, str],
    prefix: str,
) -> dict[str, str]:
    name = f"{prefix}-{function.key}-function" if prefix else f"{function.key}-function"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            # A message is in the runner's hands for at most one invocation.
            "VisibilityTimeout": str(function.timeout_seconds),
            "ReceiveMessageWaitTimeSeconds": "20",
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": dlq_arn,
                    # The first attempt plus Lambda's asynchronous retries.
                    "maxReceiveCount": str(1 + function.async_retries),
                }
            ),
        },
    )["QueueUrl"]
    arn = _queue_arn(sqs, url)
    for sub in topology.subscriptions_of_function(function.key):
        # Raw delivery off: the body is SNS's envelope, the same fields a Lambda record carries.
        _subscribe_queue(
            sns,
            topic_arn=topic_arns[sub.topic],
            queue_arn=arn,
            raw=False,
            filter_policy=sub.filter_policy_dict(),
        )
    return {function_queue_env_var(function): url, function_dlq_env_var(function): dlq_url}


def _queue_arn(sqs: SQSClient, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def _env_name(key: str) -> str:
    return key.upper().replace("-", "_")


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


def _subscribe_queue(
    sns: SNSClient,
    *,
    topic_arn: str,
    queue_arn: str,
    raw: bool,
    filter_policy: dict[str, Any] | None,
) -> None:
    attributes = {"RawMessageDelivery": "true" if raw else "false"}
    if filter_policy is not None:
        attributes["FilterPolicy"] = json.dumps(filter_policy)
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )
