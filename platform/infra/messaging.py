"""Messaging: SNS topics, SQS queues with dead-letter queues, and their subscriptions.

Everything is built from `service.messaging.topology.TOPOLOGY`, the declaration the service and
its local emulator bootstrap also use, so names, FIFO flags, filter policies and redrive counts
cannot drift between a laptop and AWS. To add a queue, add it to the topology, not here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, StackConfig
from infra.iam_documents import document
from service.messaging.topology import Queue, Topic, Topology

# SNS's AWS-managed key: publishers need no KMS grant, and SNS can deliver to SQS queues that use
# SQS-managed encryption (SSE-SQS). An SQS queue on the aws/sqs KMS key could not receive from SNS.
SNS_MANAGED_KEY = "alias/aws/sns"
DEAD_LETTER_TAG = "dead-letter"
# The tag saying what a queue is for (work, dead-letter): in the project's namespace, so a renamed
# project's resources carry its own name; the policy pack reads the key from each resource's URN.
ROLE_TAG = f"{PROJECT}:role"


@dataclass(frozen=True)
class MessagingArgs:
    config: StackConfig
    topology: Topology


class Messaging(pulumi.ComponentResource):
    topics: dict[str, aws.sns.Topic]
    queues: dict[str, aws.sqs.Queue]
    dead_letter_queues: dict[str, aws.sqs.Queue]

    def __init__(
        self, name: str, args: MessagingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:messaging:Messaging", name, None, opts)
        config, topology = args.config, args.topology
        child = pulumi.ResourceOptions(parent=self)

        self.topics = {t.key: self._topic(name, config, t) for t in topology.topics}
        self.queues = {}
        self.dead_letter_queues = {}
        for queue in topology.queues:
            dlq, main = self._queue_pair(name, config, queue)
            self.queues[queue.key] = main
            self.dead_letter_queues[queue.key] = dlq

        for queue in topology.queues:
            subscriptions = topology.subscriptions_of(queue.key)
            if not subscriptions:
                continue  # nothing publishes into it through SNS: no resource policy at all
            main = self.queues[queue.key]
            topic_arns = [self.topics[s.topic].arn for s in subscriptions]
            # Only the subscribed topics may send, and only through SNS: a queue policy that
            # names sns.amazonaws.com plus the exact topic ARN(s) as aws:SourceArn.
            policy = aws.sqs.QueuePolicy(
                f"{name}-{queue.key}-policy",
                queue_url=main.url,
                policy=document(
                    {
                        "Sid": "OnlyItsTopics",
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": main.arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arns}},
                    }
                ),
                opts=child,
            )
            for sub in subscriptions:
                filter_policy = sub.filter_policy_dict()
                aws.sns.TopicSubscription(
                    f"{name}-{sub.topic}-to-{sub.queue}",
                    topic=self.topics[sub.topic].arn,
                    protocol="sqs",
                    endpoint=main.arn,
                    raw_message_delivery=sub.raw_message_delivery,
                    filter_policy=json.dumps(filter_policy) if filter_policy else None,
                    filter_policy_scope="MessageAttributes" if filter_policy else None,
                    # Subscribing before the queue admits the topic loses the first messages.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
                )
        # Functions subscribe to these topics in infra/functions.py (from the topology's
        # function_subscriptions); e-mail/SMS subscribers in infra/operator_alerts.py.

        self.topic_arns: dict[str, pulumi.Output[str]] = {k: t.arn for k, t in self.topics.items()}
        self.queue_urls: dict[str, pulumi.Output[str]] = {}
        self.queue_arns: dict[str, pulumi.Output[str]] = {}
        for key, queue_resource in self.queues.items():
            dlq = self.dead_letter_queues[key]
            self.queue_urls[key] = queue_resource.url
            self.queue_urls[f"{key}-dlq"] = dlq.url
            self.queue_arns[key] = queue_resource.arn
            self.queue_arns[f"{key}-dlq"] = dlq.arn
        # Physical names are fixed by the topology, so alarms can use them without waiting.
        self.queue_names = {q.key: q.physical_name(config.prefix) for q in topology.queues}
        self.dead_letter_queue_names = {
            q.key: q.dlq_physical_name(config.prefix) for q in topology.queues
        }
        self.register_outputs({"topic_arns": self.topic_arns, "queue_urls": self.queue_urls})

    def _topic(self, name: str, config: StackConfig, topic: Topic) -> aws.sns.Topic:
        return aws.sns.Topic(
            f"{name}-{topic.key}",
            name=topic.physical_name(config.prefix),
            fifo_topic=topic.fifo,
            # The relay may omit a deduplication id; content-based dedup keeps FIFO publishes valid
            # and collapses an identical event the relay retried within SNS's 5-minute window.
            content_based_deduplication=True if topic.fifo else None,
            kms_master_key_id=SNS_MANAGED_KEY,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _queue_pair(
        self, name: str, config: StackConfig, queue: Queue
    ) -> tuple[aws.sqs.Queue, aws.sqs.Queue]:
        child = pulumi.ResourceOptions(parent=self)
        dlq = aws.sqs.Queue(
            f"{name}-{queue.key}-dlq",
            name=queue.dlq_physical_name(config.prefix),
            fifo_queue=queue.fifo,
            message_retention_seconds=queue.dlq_retention_seconds,
            sqs_managed_sse_enabled=True,
            tags={ROLE_TAG: DEAD_LETTER_TAG, "source-queue": queue.key},
            opts=child,
        )
        main = aws.sqs.Queue(
            f"{name}-{queue.key}",
            name=queue.physical_name(config.prefix),
            fifo_queue=queue.fifo,
            content_based_deduplication=True if queue.fifo else None,
            visibility_timeout_seconds=queue.visibility_timeout_seconds,
            message_retention_seconds=queue.message_retention_seconds,
            receive_wait_time_seconds=queue.receive_wait_time_seconds,
            sqs_managed_sse_enabled=True,
            redrive_policy=dlq.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": queue.max_receive_count}
                )
            ),
            tags={ROLE_TAG: "work"},
            opts=child,
        )
        # The dead-letter queue accepts redrives from its own queue only.
        aws.sqs.RedriveAllowPolicy(
            f"{name}-{queue.key}-dlq-allow",
            queue_url=dlq.url,
            redrive_allow_policy=main.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child,
        )
        return dlq, main
