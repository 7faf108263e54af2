"""Functions: the topology's Lambda functions, packaged from the service's own code.

For each function of the topology, i.e. each `kind: function` entry of services.yaml, joined with
the topology's function subscriptions by `Declaration.with_functions` (today: `order-alerts`):

- code: the function's package folder (e.g. `service/notifications/`) as a Pulumi asset archive,
  file by file, with the folder at the archive root, so Lambda imports it under its own name.
  Only `*.py` files go in: no `__pycache__` (its bytes differ per checkout and would make every
  `pulumi up` and the drift check see a new function);
- a role that may write its own log group, publish to the topics the function declares, and send
  failed invocations to its own dead-letter queue. Nothing else;
- a log group with the stack's retention (Lambda writes there instead of /aws/lambda/<name>);
- asynchronous invocation settings: `async_retries` retries, then the event goes to the
  on-failure destination (an encrypted SQS queue kept 14 days), watched by an alarm;
- reserved concurrency from the declaration (per stack, or a stack-file setting): it caps how
  many run at once (a burst of failed orders cannot starve the account's other functions or
  send a thousand SMS in a second).
  Throttled asynchronous events are not lost: Lambda keeps retrying them for up to
  `MAX_EVENT_AGE_SECONDS`;
- per `FunctionSubscription`: a permission for SNS to invoke it from exactly that topic, then
  the subscription with the topology's filter policy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, StackConfig
from infra.iam_documents import allow, document, service_trust
from infra.messaging import ROLE_TAG

# platform/infra/functions.py -> the repository root, whatever the working directory.
from infra.paths import REPO_ROOT
from service.messaging.topology import Function, Topology

# The handler code needs Python 3.11+; Lambda's 3.12 runtime ships boto3, the only dependency.
RUNTIME = "python3.12"
# Pure Python: Graviton is cheaper per millisecond and needs no build step.
ARCHITECTURE = "arm64"
# How long Lambda keeps retrying an event it could not run (throttled by reserved concurrency):
# the maximum, 6 hours. A handler error is retried only `async_retries` times.
MAX_EVENT_AGE_SECONDS = 6 * 3600
FAILED_INVOCATIONS_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: time for a human to look
DEAD_LETTER_TAG = "dead-letter"


def code_archive(function: Function, repo_root: Path = REPO_ROOT) -> pulumi.AssetArchive:
    """The function's package, as `<archive_folder>/<module>.py` entries."""
    source = repo_root / function.source_dir
    modules = sorted(p for p in source.rglob("*.py") if "__pycache__" not in p.parts)
    if not (source / "__init__.py").is_file():
        raise FileNotFoundError(
            f"function {function.key}: {source} is not a package (no __init__.py); "
            "check its `package` in services.yaml"
        )
    return pulumi.AssetArchive(
        {
            f"{function.archive_folder}/{p.relative_to(source).as_posix()}": pulumi.FileAsset(
                str(p)
            )
            for p in modules
        }
    )


def failed_invocations_queue_name(prefix: str, function: Function) -> str:
    return f"{prefix}-{function.key}-failed-invocations"


@dataclass(frozen=True)
class FunctionsArgs:
    config: StackConfig
    topology: Topology
    topic_arns: dict[str, pulumi.Output[str]]  # topology topic key -> ARN
    alarm_topic_arn: pulumi.Input[str]  # where the failed-invocations alarm notifies
    # function key -> reserved concurrency (None or absent: unreserved)
    reserved_concurrency: dict[str, int | None] = field(default_factory=dict)


class Functions(pulumi.ComponentResource):
    function_arns: dict[str, pulumi.Output[str]]
    function_names: dict[str, pulumi.Output[str]]
    log_group_names: dict[str, pulumi.Output[str]]
    failed_invocations_queue_urls: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: FunctionsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:functions:Functions", name, None, opts)
        self.function_arns = {}
        self.function_names = {}
        self.log_group_names = {}
        self.failed_invocations_queue_urls = {}
        for function in args.topology.functions:  # the declared ones (with_functions)
            self._function(name, args, function)
        self.register_outputs(
            {"function_arns": self.function_arns, "log_group_names": self.log_group_names}
        )

    def _function(self, name: str, args: FunctionsArgs, function: Function) -> None:
        config, topology = args.config, args.topology
        child = pulumi.ResourceOptions(parent=self)
        base = f"{name}-{function.key}"
        physical = f"{config.prefix}-{function.key}"

        log_group = aws.cloudwatch.LogGroup(
            base,
            name=f"/{config.prefix.replace('-', '/', 1)}/{function.key}",
            retention_in_days=config.log_retention_days,
            opts=child,
        )
        failed = aws.sqs.Queue(
            f"{base}-failed-invocations",
            name=failed_invocations_queue_name(config.prefix, function),
            message_retention_seconds=FAILED_INVOCATIONS_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags={ROLE_TAG: DEAD_LETTER_TAG, "source-function": function.key},
            opts=child,
        )

        role = aws.iam.Role(
            base,
            name_prefix=f"{physical}-",
            assume_role_policy=service_trust("lambda.amazonaws.com"),
            description=f"the {function.key} function: its log group, its topics, its DLQ only",
            opts=child,
        )
        statements = [
            allow(
                "WriteOwnLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [pulumi.Output.concat(log_group.arn, ":*")],
            ),
            allow("SendFailedInvocationsToOwnQueue", ["sqs:SendMessage"], [failed.arn]),
        ]
        if function.publishes:
            statements.append(
                allow(
                    "PublishOwnTopics",
                    ["sns:Publish"],
                    [args.topic_arns[key] for key in function.publishes],
                )
            )
        policy = aws.iam.RolePolicy(base, role=role.id, policy=document(*statements), opts=child)

        reserved = args.reserved_concurrency.get(function.key)
        environment = {topology.topic(k).env_var: args.topic_arns[k] for k in function.publishes}
        environment["ENVIRONMENT"] = pulumi.Output.from_input(config.environment)
        lambda_function = aws.lambda_.Function(
            base,
            name=physical,
            description=function.description,
            code=code_archive(function),
            handler=function.handler,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            memory_size=function.memory_mb,
            timeout=function.timeout_seconds,
            role=role.arn,
            reserved_concurrent_executions=reserved if reserved is not None else -1,
            environment={"variables": environment},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            # The role must be able to write logs before the first invocation.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, log_group]),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            base,
            function_name=lambda_function.name,
            maximum_retry_attempts=function.async_retries,
            maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
            destination_config={"on_failure": {"destination": failed.arn}},
            opts=child,
        )

        for subscription in topology.subscriptions_of_function(function.key):
            topic_arn = args.topic_arns[subscription.topic]
            # SNS may invoke the function for this topic's messages, and no other source may.
            permission = aws.lambda_.Permission(
                f"{base}-from-{subscription.topic}",
                action="lambda:InvokeFunction",
                function=lambda_function.name,
                principal="sns.amazonaws.com",
                source_arn=topic_arn,
                opts=child,
            )
            filter_policy = subscription.filter_policy_dict()
            aws.sns.TopicSubscription(
                f"{name}-{subscription.topic}-to-{function.key}",
                topic=topic_arn,
                protocol="lambda",
                endpoint=lambda_function.arn,
                filter_policy=json.dumps(filter_policy) if filter_policy else None,
                filter_policy_scope="MessageAttributes" if filter_policy else None,
                # Subscribing before SNS may invoke the function loses the first messages.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
            )

        aws.cloudwatch.MetricAlarm(
            f"{base}-failed-invocations",
            name=f"{physical}-failed-invocations",
            alarm_description=(
                f"{function.key} gave up on an event after {function.async_retries} retries; "
                f"read it in {failed_invocations_queue_name(config.prefix, function)} "
                "(requestPayload is the event, responsePayload the error)"
            ),
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": failed_invocations_queue_name(config.prefix, function)},
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[args.alarm_topic_arn],
            ok_actions=[args.alarm_topic_arn],
            opts=child,
        )

        self.function_arns[function.key] = lambda_function.arn
        self.function_names[function.key] = lambda_function.name
        self.log_group_names[function.key] = log_group.name
        self.failed_invocations_queue_urls[function.key] = failed.url
