"""The settings learn every topic's ARN and queue's URL from the variable the topology names for
it, so adding a topic or queue is one edit (in topology.py) and the service, `make dev` and the
platform agree on the names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.core.config import Settings
from service.messaging.topology import ORDER_PROCESSING_QUEUE, ORDERS_TOPIC, TOPOLOGY


def fake_endpoint(setting: str, key: str) -> str:
    if setting == "topic_arns":
        return f"arn:aws:sns:us-east-1:123456789012:{key}"
    return f"https://sqs.us-east-1.amazonaws.com/123456789012/{key}-{setting}"


def test_every_declared_topic_and_queue_is_read_from_its_own_variable(monkeypatch) -> None:
    """Over the whole topology, not a list of names: a topic added there is covered here."""
    expected: dict[str, dict[str, str]] = {}
    for setting, names in TOPOLOGY.endpoint_env_vars().items():
        expected[setting] = {}
        for key, env_var in names.items():
            monkeypatch.setenv(env_var, fake_endpoint(setting, key))
            expected[setting][key] = fake_endpoint(setting, key)
    settings = Settings()
    found = {"topic_arns": settings.topic_arns, "queue_urls": settings.queue_urls}
    found["dlq_urls"] = settings.dlq_urls
    assert found == expected
    assert set(expected["topic_arns"]) == {t.key for t in TOPOLOGY.topics}
    assert set(expected["dlq_urls"]) == {q.key for q in TOPOLOGY.queues}


def test_the_variable_names_are_the_ones_the_platform_sets() -> None:
    names = TOPOLOGY.endpoint_env_vars()
    assert names["topic_arns"][ORDERS_TOPIC] == "ORDERS_TOPIC_ARN"
    assert names["queue_urls"][ORDER_PROCESSING_QUEUE] == "ORDER_PROCESSING_QUEUE_URL"
    assert names["dlq_urls"][ORDER_PROCESSING_QUEUE] == "ORDER_PROCESSING_DLQ_URL"


def test_unset_or_empty_variables_are_left_out(monkeypatch) -> None:
    monkeypatch.setenv("ORDERS_TOPIC_ARN", "")
    monkeypatch.delenv("ORDER_EVENTS_TOPIC_ARN", raising=False)
    assert Settings().topic_arns == {}


def test_a_value_passed_in_wins_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("ORDERS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:from-env.fifo")
    passed = Settings(topic_arns={ORDERS_TOPIC: "arn:aws:sns:us-east-1:1:passed.fifo"})
    assert passed.topic_arns == {ORDERS_TOPIC: "arn:aws:sns:us-east-1:1:passed.fifo"}


def test_control_a_malformed_value_is_refused_naming_its_variable(monkeypatch) -> None:
    monkeypatch.setenv("ORDERS_TOPIC_ARN", "orders.fifo")
    monkeypatch.setenv("ORDER_PROCESSING_QUEUE_URL", "order-processing.fifo")
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    assert "ORDERS_TOPIC_ARN='orders.fifo' does not start with arn:" in message
    assert "ORDER_PROCESSING_QUEUE_URL='order-processing.fifo' does not start with http" in message


def test_control_a_key_the_topology_does_not_declare_is_refused() -> None:
    with pytest.raises(ValidationError, match="'invoices' is not declared in"):
        Settings(topic_arns={"invoices": "arn:aws:sns:us-east-1:1:invoices"})
