"""Operator alerts: who hears about failed orders. E-mail and SMS subscribers of the operators'
topic, from stack config (`alert_emails`, `alert_sms_numbers`; none by default).

The topic itself is part of the messaging topology (infra/messaging.py creates it): the one with
`operators=True` (the demo's `operator-alerts`), which program.py finds by that flag, never by
name; the demo's `order-alerts` function publishes to it (infra/functions.py). Each subscriber
gets the rendering meant for it: SNS picks the message's `email` or `sms` text
(service/notifications/).

- E-mail: AWS sends a confirmation link first; nothing is delivered until it is clicked. An
  unconfirmed subscription cannot be deleted by Pulumi; AWS removes it after three days.
- SMS: the account must be out of the SNS SMS sandbox (or the numbers verified in it), and
  some countries need an origination identity; see docs/fanout.md.

Resource names derive from a hash of the address, so reordering the list changes nothing and
the address itself stays out of resource names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import NS, PROJECT, ConfigError, StackConfig
from service.messaging.topology import Topology


def operators_topic_of(topology: Topology, config: StackConfig) -> str | None:
    """The topic the stack's operators subscribe to (the topology's `operators=True` one), or
    None. Stack-file subscribers without such a topic would be silently dropped: refused."""
    topic = topology.operators_topic
    if topic is None and (config.alert_emails or config.alert_sms_numbers):
        raise ConfigError(
            config.stack,
            [
                f"{NS}alert_emails / alert_sms_numbers: set, but no topic of "
                "service/messaging/topology.py is for operators; mark one Topic(operators=True) "
                "or remove these settings"
            ],
        )
    return None if topic is None else topic.key


def subscriber_id(endpoint: str) -> str:
    return hashlib.sha256(endpoint.lower().encode()).hexdigest()[:10]


@dataclass(frozen=True)
class OperatorAlertsArgs:
    topic_arn: pulumi.Input[str]
    emails: tuple[str, ...]
    sms_numbers: tuple[str, ...]


class OperatorAlerts(pulumi.ComponentResource):
    subscriptions: list[aws.sns.TopicSubscription]

    def __init__(
        self, name: str, args: OperatorAlertsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:alerts:OperatorAlerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.subscriptions = [
            aws.sns.TopicSubscription(
                f"{name}-{protocol}-{subscriber_id(endpoint)}",
                topic=args.topic_arn,
                protocol=protocol,
                endpoint=endpoint,
                opts=child,
            )
            for protocol, endpoints in (("email", args.emails), ("sms", args.sms_numbers))
            for endpoint in endpoints
        ]
        self.register_outputs({"subscribers": len(self.subscriptions)})
