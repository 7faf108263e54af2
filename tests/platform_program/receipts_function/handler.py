"""Receipts for completed orders: one log line per SNS record (standard library only, so the
package ships alone like service/notifications)."""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger(__name__)


def handle(event: dict[str, Any], context: Any) -> int:
    """Log each completed order's id; returns how many records were read."""
    records = event.get("Records", [])
    for record in records:
        body = json.loads(record["Sns"]["Message"])
        log.info("receipt for order %s", body.get("data", {}).get("order_id"))
    return len(records)
