"""Observability: log groups with retention, and the alarms that page people and stop deployments.

The 5xx and p95-latency alarms do double duty: they notify the alerts topic, and their web
service lists them as deployment alarms, so a release that makes them fire is rolled back by ECS.
Each web service has its own pair (`<service>-target-5xx`, `<service>-p95-latency`), on its own
target group(s) (the TargetGroup + LoadBalancer dimensions; under blue/green both groups, by
metric math), so one service's bad release never rolls back another's deployment.

The balancer's own 5xx (HTTPCode_ELB_5XX_Count: no healthy target, a reset connection) is
reported per load balancer only, not per target group (ELB's "CloudWatch metrics for your
Application Load Balancer": its dimensions are LoadBalancer, and AvailabilityZone + LoadBalancer),
so it stays one alarm per balancer, named after the first web service (the demo's
`api-elb-5xx`). It pages always; it gates a deployment only while one web service sits behind the
balancer, where every such 5xx is that service's. With several it cannot tell whose requests
failed, and gating all of them would let one bad release roll back the others.
Physical names (cluster, services, queues) are fixed strings, so the alarms can be declared before
the services that they watch, which in turn need the alarm names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, StackConfig
from infra.iam_documents import allow, document


@dataclass(frozen=True)
class ObservabilityArgs:
    config: StackConfig
    log_groups: tuple[str, ...]  # every declared service has its log group
    cluster_name: str
    service_names: dict[str, str]  # long-running service -> ECS service name
    load_balancer_arn_suffix: pulumi.Input[str]
    # Per web service, in declaration order: the arn_suffix of its target group(s).
    web_target_groups: dict[str, list[pulumi.Output[str]]]
    queue_names: dict[str, str]  # topology key -> physical name
    dead_letter_queue_names: dict[str, str]
    account_id: pulumi.Input[str]


class Observability(pulumi.ComponentResource):
    log_group_names: dict[str, pulumi.Output[str]]
    log_group_arns: dict[str, pulumi.Output[str]]
    # Per web service: the alarms that roll back its deployments.
    deployment_alarm_names: dict[str, list[pulumi.Output[str]]]
    alerts_topic_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:observability:Observability", name, None, opts)
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
        self.deployment_alarm_names = {}
        for web, groups in args.web_target_groups.items():
            errors = alarm(
                f"{web}-target-5xx",
                f"{web} tasks answer 5xx; also rolls back a deployment in progress",
                threshold=config.alarm_5xx_per_minute,
                comparison_operator="GreaterThanOrEqualToThreshold",
                evaluation_periods=3,
                datapoints_to_alarm=2,
                **_per_target_groups(
                    args.load_balancer_arn_suffix, groups, "HTTPCode_Target_5XX_Count", "Sum"
                ),
            )
            latency = alarm(
                f"{web}-p95-latency",
                f"{web} p95 latency above {config.alarm_p95_latency_ms} ms; also rolls back a "
                "deployment",
                threshold=config.alarm_p95_latency_ms / 1000,  # the metric is in seconds
                comparison_operator="GreaterThanThreshold",
                evaluation_periods=3,
                datapoints_to_alarm=2,
                **_per_target_groups(
                    args.load_balancer_arn_suffix, groups, "TargetResponseTime", "p95"
                ),
            )
            self.deployment_alarm_names[web] = [errors.name, latency.name]

        # The balancer's own 5xx: one per balancer (see the module docstring for whom it gates).
        first_web = next(iter(args.web_target_groups))
        refused = alarm(
            f"{first_web}-elb-5xx",
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
        if len(args.web_target_groups) == 1:
            # The order the single web service listed them in before (target, elb, latency).
            self.deployment_alarm_names[first_web].insert(1, refused.name)

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


def _per_target_groups(
    load_balancer: pulumi.Input[str],
    groups: list[pulumi.Output[str]],
    metric_name: str,
    statistic: str,
) -> dict[str, Any]:
    """MetricAlarm settings for `metric_name` on one web service's target group(s).

    One group: the metric itself. Two (blue/green: ECS moves traffic between them): metric math
    over both, a sum for counts and the larger for percentiles, with an idle group's missing
    points read as 0 so the other group's alone decide.
    """
    percentile = statistic.startswith("p")
    if len(groups) == 1:
        dimensions = {"TargetGroup": groups[0], "LoadBalancer": load_balancer}
        chosen: dict[str, Any] = (
            {"extended_statistic": statistic} if percentile else {"statistic": statistic}
        )
        return {
            "namespace": "AWS/ApplicationELB",
            "metric_name": metric_name,
            "dimensions": dimensions,
            "period": 60,
            **chosen,
        }
    ids = [f"group{index}" for index in range(len(groups))]
    filled = ", ".join(f"FILL({i}, 0)" for i in ids)
    queries: list[aws.cloudwatch.MetricAlarmMetricQueryArgsDict] = [
        {
            "id": query_id,
            "return_data": False,
            "metric": {
                "namespace": "AWS/ApplicationELB",
                "metric_name": metric_name,
                "dimensions": {"TargetGroup": group, "LoadBalancer": load_balancer},
                "stat": statistic,
                "period": 60,
            },
        }
        for query_id, group in zip(ids, groups, strict=True)
    ]
    queries.append(
        {
            "id": "combined",
            "label": f"{metric_name} ({'larger' if percentile else 'sum'} of the target groups)",
            "expression": f"{'MAX' if percentile else 'SUM'}([{filled}])",
            "return_data": True,
        }
    )
    return {"metric_queries": queries}
