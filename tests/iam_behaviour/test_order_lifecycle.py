"""The order lifecycle with every process holding exactly the IAM the stack grants it.

Both stacks are evaluated offline; their workload roles are recreated on an emulator that
enforces IAM (with moto's two departures from AWS corrected), and the real processes run with
their own role's credentials only. An order must go placed -> processed -> `order.completed`
published -> on the notifications queue, and a failing order -> `order.failed` -> the
order-alerts handler -> the operator topic. The control removes one grant and must see the
AccessDenied in the publishing process's log and the event left unsent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from service.messaging.topology import ORDER_COMPLETED, ORDER_EVENTS_TOPIC, ORDER_FAILED
from tests.utils.databases import migrated_postgres_database
from tests.utils.stacks import evaluated
from tests.utils.system import ApiClient
from tools.local.emulator import Emulator

from .system_under_iam import SystemUnderIam
from .workload_iam import WorkloadIam, without_resource

pytestmark = [pytest.mark.slow, pytest.mark.emulator, pytest.mark.postgres]

DENIED = ("AccessDenied", "AuthorizationError", "not authorized")


@pytest.fixture
def database_url() -> Iterator[str]:
    with migrated_postgres_database("shipyard_iam") as url:
        yield url


@pytest.mark.parametrize("stack_name", ["staging", "prod"])
def test_every_process_with_its_own_role_completes_the_order_lifecycle(
    stack_name: str, iam_emulator: Emulator, database_url: str, tmp_path: Path
) -> None:
    under_iam = SystemUnderIam.prepare(
        evaluated(stack_name), iam_emulator, database_url=database_url, workdir=tmp_path
    )
    try:
        customer = ApiClient(under_iam.start(), database_url).sign_up("iam@example.com")
        cheap, dear = customer.create_item("9.99"), customer.create_item("60.00")
        completed = customer.place_order(cheap)["id"]
        failed = customer.place_order(dear)["id"]
        finals = {o["id"]: o["status"] for o in customer.wait_final([completed, failed])}
        assert finals == {completed: "completed", failed: "failed"}

        notified = [json.loads(b) for b in under_iam.received(under_iam.notifications_url, 2)]
        assert sorted((n["event_type"], n["data"]["order_id"]) for n in notified) == sorted(
            [(ORDER_COMPLETED, completed), (ORDER_FAILED, failed)]
        )
        operator = under_iam.received(under_iam.operator_inbox_url, wanted=1)
        assert len(operator) == 1
        assert f"Order {failed} failed" in operator[0]
        for name in ("api-*.log", "worker-*.log", "alerts.log"):
            log = under_iam.log(name)
            assert not any(word in log for word in DENIED), f"{name} was refused:\n{log[-3000:]}"
    finally:
        under_iam.system.stop_all()
        print(under_iam.system.logs())


def test_a_missing_grant_shows_as_access_denied_and_the_event_stays_unsent(
    iam_emulator: Emulator, database_url: str, tmp_path: Path
) -> None:
    """The control: the api may no longer publish to order-events. The check has teeth if the
    refusal is in the api's log and order.completed never leaves the outbox."""
    stack = evaluated("staging")
    topic = stack.outputs["topic_arns"][ORDER_EVENTS_TOPIC]

    def revoke(workloads: dict[str, WorkloadIam]) -> dict[str, WorkloadIam]:
        policy, changed = without_resource(workloads["api"].policy, "sns:Publish", topic)
        assert changed == 1, "the api's grant to publish order-events was not found"
        return {**workloads, "api": WorkloadIam(workloads["api"].trust, policy)}

    under_iam = SystemUnderIam.prepare(
        stack, iam_emulator, database_url=database_url, workdir=tmp_path, edit=revoke
    )
    try:
        customer = ApiClient(under_iam.start(), database_url).sign_up("control@example.com")
        order = customer.place_order(customer.create_item("9.99"))["id"]
        assert customer.wait_final([order])[0]["status"] == "completed"  # orders still flow
        assert under_iam.received(under_iam.notifications_url, wanted=1, timeout=5) == []
        engine = create_engine(database_url)
        with engine.connect() as connection:
            unsent = connection.execute(
                text(
                    "SELECT event_type, attempts, last_error FROM outbox_events "
                    "WHERE topic = :topic AND sent_at IS NULL"
                ),
                {"topic": ORDER_EVENTS_TOPIC},
            ).all()
        engine.dispose()
        assert [row.event_type for row in unsent] == [ORDER_COMPLETED]
        assert unsent[0].attempts >= 1
        assert "AccessDenied" in unsent[0].last_error
        assert "AccessDenied" in under_iam.log("api-*.log")
    finally:
        under_iam.system.stop_all()
        print(under_iam.system.logs())
