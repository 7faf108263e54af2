"""The worker through a database outage, against the SQS emulator: a message it could not apply
goes back to the queue (not deleted, not counted as poison), the worker stops receiving until the
database answers, then completes the order by itself. And the declared topology's arithmetic:
no two-minute outage can dead-letter an order."""

from __future__ import annotations

import dataclasses
import threading

from service.core.config import Settings
from service.core.db import Database
from service.messaging.aws import sqs_client
from service.messaging.relay import OutboxRelay
from service.messaging.topology import ORDER_PROCESSING_QUEUE, TOPOLOGY
from service.messaging.worker import OrderWorker
from tests.messaging.helpers import make_customer, make_item, place
from tests.messaging.test_worker import order, wait_for
from tests.service.test_database_outage_errors import unreachable_url

# An RDS Multi-AZ fail-over takes one to two minutes.
FAIL_OVER_SECONDS = 120


def test_the_worker_queue_outlasts_a_two_minute_database_outage() -> None:
    queue = TOPOLOGY.queue(ORDER_PROCESSING_QUEUE)
    assert queue.outage_tolerance_seconds > FAIL_OVER_SECONDS, (
        f"{queue.key}: maxReceiveCount {queue.max_receive_count} × visibility "
        f"{queue.visibility_timeout_seconds} s = {queue.outage_tolerance_seconds} s; a "
        f"{FAIL_OVER_SECONDS} s fail-over could dead-letter its messages"
    )
    # The worker hands messages back for its own visibility setting: the default (and what the
    # platform sets from the queue) must be the queue's, or the arithmetic above is not the one
    # that runs.
    assert Settings().worker_visibility_timeout_seconds == queue.visibility_timeout_seconds


def test_control_a_queue_sized_for_poison_only_would_dead_letter_in_a_fail_over() -> None:
    queue = TOPOLOGY.queue(ORDER_PROCESSING_QUEUE)
    for too_small in (
        dataclasses.replace(queue, max_receive_count=2),
        dataclasses.replace(queue, visibility_timeout_seconds=20),
    ):
        assert too_small.outage_tolerance_seconds <= FAIL_OVER_SECONDS


def queue_counts(settings: Settings, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = sqs_client(settings).get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def test_worker_hands_a_message_back_during_an_outage_and_completes_it_afterwards(
    aws_settings: Settings, database: Database
) -> None:
    customer = make_customer(database, "outage@example.com")
    order_id = place(database, customer, make_item(database, customer), key="outage")
    OutboxRelay(database, aws_settings).publish_pending()
    queue_url = aws_settings.queue_urls[ORDER_PROCESSING_QUEUE]
    assert queue_url is not None
    dlq_url = aws_settings.dlq_urls[ORDER_PROCESSING_QUEUE]
    assert dlq_url is not None

    down = Database(unreachable_url())  # connections refused: the database is down
    worker = OrderWorker(down, aws_settings)
    loop = threading.Thread(target=worker.run, daemon=True)
    loop.start()
    try:
        wait_for(lambda: worker.waiting_for_database)
        # Handed back, not deleted: it is in flight for one visibility timeout ...
        assert queue_counts(aws_settings, queue_url) == (0, 1)
        # ... then visible again and left there: the worker does not receive while its
        # database is down (each receive would count towards the dead-letter queue).
        wait_for(
            lambda: queue_counts(aws_settings, queue_url) == (1, 0),
            timeout=aws_settings.worker_visibility_timeout_seconds + 10,
        )
        assert order(database, order_id).status == "pending"

        worker.database = database  # the database is back
        wait_for(lambda: order(database, order_id).status == "completed", timeout=30)
        assert not worker.waiting_for_database
        assert loop.is_alive()
    finally:
        worker.stop.set()
        loop.join(15)
        down.dispose()
    assert [h.status for h in order(database, order_id).history] == [
        "pending",
        "processing",
        "completed",
    ]
    wait_for(lambda: queue_counts(aws_settings, queue_url) == (0, 0))
    assert queue_counts(aws_settings, dlq_url) == (0, 0)
