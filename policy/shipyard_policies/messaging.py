"""Messaging: every queue encrypted and backed by a dead-letter queue; every topic encrypted."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from shipyard_policies.props import ReportViolation, document, for_types, tag

DEAD_LETTER = "dead-letter"


def role_tag_key(urn: str) -> str:
    """`<project>:role`, the key the program tags its queues' role with (infra/messaging.py).

    The project comes from the resource's URN (`urn:pulumi:<stack>::<project>::<type>::<name>`),
    so the pack follows a renamed project without a setting of its own.
    """
    _, project, *_ = urn.split("::")
    return f"{project}:role"


@for_types("aws:sqs/queue:Queue")
def _queue(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if not (props.get("sqsManagedSseEnabled") is True or props.get("kmsMasterKeyId")):
        report("queue is not encrypted: set sqs_managed_sse_enabled=True (or a KMS key)")
    role_tag = role_tag_key(args.urn)
    if tag(props, role_tag) == DEAD_LETTER:
        return  # it is a dead-letter queue itself
    redrive = document(props.get("redrivePolicy"))
    if not isinstance(redrive, dict) or not redrive.get("deadLetterTargetArn"):
        report(
            "queue has no dead-letter queue: set redrive_policy with deadLetterTargetArn and "
            f"maxReceiveCount (or tag a dead-letter queue {role_tag}={DEAD_LETTER})"
        )
    elif not 1 <= int(redrive.get("maxReceiveCount", 0)) <= 1000:
        report("redrive policy maxReceiveCount must be between 1 and 1000")


@for_types("aws:sns/topic:Topic")
def _topic(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.props.get("kmsMasterKeyId"):
        report("topic is not encrypted: set kms_master_key_id (e.g. alias/aws/sns)")


SQS_QUEUE_ENCRYPTED_WITH_DLQ = ResourceValidationPolicy(
    name="sqs-queue-encrypted-with-dead-letter-queue",
    description="Every SQS queue is encrypted and redrives to a dead-letter queue.",
    validate=_queue,
)
SNS_TOPIC_ENCRYPTED = ResourceValidationPolicy(
    name="sns-topic-encrypted",
    description="Every SNS topic is encrypted with KMS.",
    validate=_topic,
)
