"""Functions in the messaging topology: who feeds them (subscriptions, filters) declared once there,
the functions themselves in services.yaml; checked when declared."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from service.core.config import Settings
from service.messaging.relay import topic_arns_from
from service.messaging.topology import (
    EVENT_TYPE_ATTRIBUTE,
    OPERATOR_ALERTS_TOPIC,
    ORDER_ALERTS_FUNCTION,
    ORDER_EVENTS_TOPIC,
    ORDER_FAILED,
    TOPOLOGY,
    Function,
    FunctionSubscription,
    Topic,
    Topology,
)
from tools.local.function_runner import declared_topology


def function(**changes: object) -> Function:
    values: dict[str, object] = {
        "key": "f",
        "description": "test",
        "package": "service.notifications",
        "entry_point": "handler.handler",
    }
    return Function(**(values | changes))  # type: ignore[arg-type]


STANDARD = Topic(key="standard", fifo=False, env_var="STANDARD_ARN", description="")
FIFO = Topic(key="fifo", fifo=True, env_var="FIFO_ARN", description="")


def test_order_alerts_sees_only_failed_orders_and_publishes_only_to_the_operator_topic() -> None:
    (subscription,) = TOPOLOGY.subscriptions_of_function(ORDER_ALERTS_FUNCTION)
    assert subscription.topic == ORDER_EVENTS_TOPIC
    assert subscription.filter_policy_dict() == {EVENT_TYPE_ATTRIBUTE: [ORDER_FAILED]}
    declared = declared_topology().function(ORDER_ALERTS_FUNCTION)
    assert declared.publishes == (OPERATOR_ALERTS_TOPIC,)
    operator_topic = TOPOLOGY.topic(OPERATOR_ALERTS_TOPIC)
    assert operator_topic.env_var == "OPERATOR_TOPIC_ARN"
    assert not operator_topic.fifo  # SNS delivers e-mail and SMS from standard topics only


def test_the_relay_does_not_need_the_operator_topic() -> None:
    assert OPERATOR_ALERTS_TOPIC not in {t.key for t in TOPOLOGY.relayed_topics}
    settings = Settings(
        topic_arns={
            "orders": "arn:aws:sns:us-east-1:1:orders.fifo",
            "order-events": "arn:aws:sns:us-east-1:1:order-events",
        }
    )
    assert set(topic_arns_from(settings)) == {t.key for t in TOPOLOGY.relayed_topics}


def test_a_function_cannot_subscribe_to_a_fifo_topic() -> None:
    with pytest.raises(ValueError, match="SNS FIFO topics deliver to SQS queues only"):
        Topology(
            topics=(FIFO,),
            queues=(),
            subscriptions=(),
            functions=(function(),),
            function_subscriptions=(FunctionSubscription(topic="fifo", function="f"),),
        )


def test_the_operators_topic_is_found_by_its_flag_not_its_name() -> None:
    assert TOPOLOGY.operators_topic == TOPOLOGY.topic(OPERATOR_ALERTS_TOPIC)
    renamed = Topic(key="pager", fifo=False, env_var="PAGER_ARN", description="", operators=True)
    topology = Topology(topics=(STANDARD, renamed), queues=(), subscriptions=())
    assert topology.operators_topic == renamed
    assert Topology(topics=(STANDARD,), queues=(), subscriptions=()).operators_topic is None


def test_one_standard_topic_at_most_is_for_operators() -> None:
    pager = Topic(key="pager", fifo=False, env_var="PAGER_ARN", description="", operators=True)
    other = Topic(key="other", fifo=False, env_var="OTHER_ARN", description="", operators=True)
    with pytest.raises(ValueError, match="only one topic may be for operators"):
        Topology(topics=(pager, other), queues=(), subscriptions=())
    fifo = Topic(key="fifo", fifo=True, env_var="F_ARN", description="", operators=True)
    with pytest.raises(ValueError, match="e-mail and SMS from standard topics"):
        Topology(topics=(fifo,), queues=(), subscriptions=())


def test_a_function_publishes_only_to_declared_topics() -> None:
    with pytest.raises(ValueError, match="unknown topic 'nope'"):
        Topology(
            topics=(STANDARD,),
            queues=(),
            subscriptions=(),
            functions=(function(publishes=("nope",)),),
        )


def test_lambda_retries_an_async_invocation_at_most_twice() -> None:
    with pytest.raises(ValueError, match="retries 0, 1 or 2 times"):
        Topology(topics=(), queues=(), subscriptions=(), functions=(function(async_retries=3),))


def test_a_topology_without_functions_is_still_valid() -> None:
    topology = Topology(topics=(STANDARD,), queues=(), subscriptions=())
    assert topology.functions == ()
    assert topology.subscriptions_of_function("anything") == ()


def test_filter_policies_are_read_only() -> None:
    (subscription,) = TOPOLOGY.subscriptions_of_function(ORDER_ALERTS_FUNCTION)
    assert isinstance(subscription.filter_policy, MappingProxyType)
    with pytest.raises(TypeError):
        subscription.filter_policy["x"] = []  # type: ignore[index]
