"""Observability: log groups with retention, and the alarms that page people and stop deployments.

The 5xx and p95-latency alarms do double duty: they notify the alerts topic, and the `api`
service lists them as deployment alarms, so a release that makes them fire is rolled back by ECS.
Physical names (cluster, services, queues) are fixed strings, so the alarms can be declared before
the services that they watch, which in turn need the alarm names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig
from infra.iam_documents import allow, document


@dataclass(frozen=True)
class ObservabilityArgs:
    config: StackConfig
    log_groups: tuple[str, ...]  # every declared service has its log group
    cluster_name: str
    service_names: dict[str, str]  # long-running service -> ECS service name
    load_balancer_arn_suffix: pulumi.Input[str]
    queue_names: dict[str, str]  # topology key -> physical name
    dead_letter_queue_names: dict[str, str]
    account_id: pulumi.Input[str]


class Observability(pulumi.ComponentResource):
    log_group_names: dict[str, pulumi.Output[str]]
    log_group_arns: dict[str, pulumi.Output[str]]
    deployment_alarm_names: list[pulumi.Output[str]]
    alerts_topic_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("shipyard:observability:Observability", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        self.log_group_names = {}
        self.log_group_arns = {}
        for role in args.log_groups:
            group = aws.cloudwatch.LogGroup(
                f"{name}-{role}",
                name=f"/{config.prefix.replace('-', '/', 1)}/{role}",
                retention_in_days=config.log_retention_days,
                opts=child,
            )
            self.log_group_names[role] = group.name
            self.log_group_arns[role] = group.arn

        self.alerts_topic_arn = self._alerts_topic(name, config, args.account_id)
        actions = [self.alerts_topic_arn]

        def alarm(suffix: str, description: str, **settings: Any) -> aws.cloudwatch.MetricAlarm:
            return aws.cloudwatch.MetricAlarm(
                f"{name}-{suffix}",
                name=f"{config.prefix}-{suffix}",
                alarm_description=description,
                alarm_actions=actions,
                ok_actions=actions,
                treat_missing_data="notBreaching",  # no traffic is not an outage
                opts=child,
                **settings,
            )

        lb = {"LoadBalancer": args.load_balancer_arn_suffix}
        errors = alarm(
            "api-target-5xx",
            "api tasks answer 5xx; also rolls back a deployment in progress",
            namespace="AWS/ApplicationELB",
            metric_name="HTTPCode_Target_5XX_Count",
            dimensions=lb,
            statistic="Sum",
            period=60,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            threshold=config.alarm_5xx_per_minute,
            comparison_operator="GreaterThanOrEqualToThreshold",
        )
        refused = alarm(
            "api-elb-5xx",
            "the ALB itself answers 5xx (no healthy target, reset connections): dropped requests",
            namespace="AWS/ApplicationELB",
            metric_name="HTTPCode_ELB_5XX_Count",
            dimensions=lb,
            statistic="Sum",
            period=60,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            threshold=config.alarm_5xx_per_minute,
            comparison_operator="GreaterThanOrEqualToThreshold",
        )
        latency = alarm(
            "api-p95-latency",
            f"api p95 latency above {config.alarm_p95_latency_ms} ms; also rolls back a deployment",
            namespace="AWS/ApplicationELB",
            metric_name="TargetResponseTime",
            dimensions=lb,
            extended_statistic="p95",
            period=60,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            threshold=config.alarm_p95_latency_ms / 1000,  # the metric is in seconds
            comparison_operator="GreaterThanThreshold",
        )
        self.deployment_alarm_names = [errors.name, refused.name, latency.name]

        for role, service_name in args.service_names.items():
            for metric, label in (("CPUUtilization", "cpu"), ("MemoryUtilization", "memory")):
                alarm(
                    f"{role}-{label}-high",
                    f"{role} tasks use over 85% {label} for 5 minutes; scale-out is not keeping up",
                    namespace="AWS/ECS",
                    metric_name=metric,
                    dimensions={"ClusterName": args.cluster_name, "ServiceName": service_name},
                    statistic="Average",
                    period=60,
                    evaluation_periods=5,
                    threshold=85,
                    comparison_operator="GreaterThanThreshold",
                )

        for key, queue_name in args.queue_names.items():
            alarm(
                f"{key}-oldest-message",
                f"a message has waited over {config.alarm_oldest_message_seconds} s in {key}",
                namespace="AWS/SQS",
                metric_name="ApproximateAgeOfOldestMessage",
                dimensions={"QueueName": queue_name},
                statistic="Maximum",
                period=60,
                evaluation_periods=3,
                threshold=config.alarm_oldest_message_seconds,
                comparison_operator="GreaterThanThreshold",
            )
        for key, dlq_name in args.dead_letter_queue_names.items():
            alarm(
                f"{key}-dlq-depth",
                f"messages reached the dead-letter queue of {key}: look at them, then redrive",
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": dlq_name},
                statistic="Maximum",
                period=60,
                evaluation_periods=1,
                threshold=0,
                comparison_operator="GreaterThanThreshold",
            )
        self.register_outputs({"log_group_names": self.log_group_names})

    def _alerts_topic(
        self, name: str, config: StackConfig, account_id: pulumi.Input[str]
    ) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        root = pulumi.Output.concat("arn:aws:iam::", account_id, ":root")
        # CloudWatch cannot publish to a topic encrypted with the AWS-managed aws/sns key, so the
        # alerts topic has its own key whose policy admits CloudWatch.
        key = aws.kms.Key(
            f"{name}-alerts",
            description=f"{config.prefix} alerts topic",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=document(
                {
                    **allow(
                        "AccountAdministersTheKey",
                        [
                            "kms:Create*",
                            "kms:Describe*",
                            "kms:Enable*",
                            "kms:List*",
                            "kms:Put*",
                            "kms:Update*",
                            "kms:Revoke*",
                            "kms:Disable*",
                            "kms:Get*",
                            "kms:Delete*",
                            "kms:TagResource",
                            "kms:UntagResource",
                            "kms:ScheduleKeyDeletion",
                            "kms:CancelKeyDeletion",
                        ],
                        "*",  # in a key policy, "*" is this key
                    ),
                    "Principal": {"AWS": root},
                },
                {
                    **allow(
                        "CloudWatchPublishesAlarms",
                        # What the SNS Developer Guide's key policy for AWS-service publishers
                        # grants (sns-key-management.html): the wildcard, not the plain action.
                        ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "*",
                        {"StringEquals": {"aws:SourceAccount": account_id}},
                    ),
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                },
            ),
            opts=child,
        )
        topic = aws.sns.Topic(
            f"{name}-alerts",
            name=f"{config.prefix}-alerts",
            kms_master_key_id=key.arn,
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-alerts",
            arn=topic.arn,
            policy=document(
                {
                    **allow(
                        "CloudWatchAlarmsOfThisAccount",
                        ["sns:Publish"],
                        topic.arn,
                        {"StringEquals": {"aws:SourceAccount": account_id}},
                    ),
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                }
            ),
            opts=child,
        )
        if config.alarm_email:
            aws.sns.TopicSubscription(
                f"{name}-alerts-email",
                topic=topic.arn,
                protocol="email",  # the address must confirm the subscription once
                endpoint=config.alarm_email,
                opts=child,
            )
        return topic.arn
