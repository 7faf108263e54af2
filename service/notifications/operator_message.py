"""What an operator receives about an order event: one SNS message, three renderings.

Published with `MessageStructure="json"`, SNS picks the rendering per subscriber protocol:
`email` for e-mail subscribers, `sms` for phone numbers, `default` for everything else. SNS's
rules shape the text: the subject (e-mail only) is printable ASCII under 100 characters without
line breaks; an SMS longer than 140 bytes is split and billed per part, so it stays within one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from .events import OrderEvent
from .quoting import clip, one_line, quoted

SUBJECT_MAX_CHARS = 99  # SNS: "must be less than 100 characters"
SMS_MAX_CHARS = 140  # one SMS part (GSM-7 / ASCII); longer ones are split and billed per part
REASON_MAX_CHARS = 300  # the reason is customer-influenced text (item titles): quoted and capped
FIELD_MAX_CHARS = 100  # ids, times, amounts: short by nature; capped in case a publisher lies

# How each event type reads in a sentence; others are shown as their event type.
_VERBS = {"order.failed": "failed", "order.completed": "completed"}
_CONTROL_OR_SPACE_RUN = re.compile(r"[\x00-\x20\x7f]+")


@dataclass(frozen=True)
class OperatorMessage:
    subject: str
    email: str
    sms: str

    @property
    def default(self) -> str:
        """For subscribers that are neither e-mail nor SMS (an SQS queue, HTTPS): the full text."""
        return self.email

    def sns_message(self) -> str:
        """The `Message` for `Publish(MessageStructure="json")`."""
        return json.dumps({"default": self.default, "email": self.email, "sms": self.sms})


def operator_message(event: OrderEvent, *, environment: str) -> OperatorMessage:
    # Every value from the event is put on one line before it is shown: the text around it (and
    # the subject an e-mail client shows) is ours alone, whatever the event carries.
    verb = _field(_VERBS.get(event.event_type, event.event_type))
    reason = quoted(event.reason, REASON_MAX_CHARS) if event.reason else None
    if reason is None and event.event_type == "order.failed":
        reason = "no reason given"
    headline = f"Order {event.order_id} {verb}" + (f": {reason}" if reason else "")
    lines = [
        f"{headline}",
        "",
        f"Environment:  {environment}",
        f"Event:        {_field(event.event_type)} ({_field(event.event_id)})",
        f"Occurred at:  {_field(event.occurred_at)}",
        f"Order:        {event.order_id}",
        f"Customer:     {event.customer_id if event.customer_id is not None else 'unknown'}",
        f"Status:       {_field(event.status)}",
        f"Total:        {_field(event.total)}",
        f"Reason:       {reason or '-'}",
        "",
        "Next steps: search the worker's logs for the order id or the event id above to see what",
        "happened; the customer sees the reason on GET /api/v1/orders/<id>.",
    ]
    return OperatorMessage(
        subject=clip(_ascii_line(f"[shipyard {environment}] {headline}"), SUBJECT_MAX_CHARS),
        email="\n".join(lines) + "\n",
        sms=clip(_ascii_line(f"shipyard {environment}: {headline}"), SMS_MAX_CHARS),
    )


def _field(value: str | None) -> str:
    return clip(one_line(value), FIELD_MAX_CHARS) if value else "unknown"


def _ascii_line(text: str) -> str:
    """One line of printable ASCII: accents dropped (é -> e), the rest replaced by '?', control
    characters and runs of whitespace collapsed to one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    without_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_only = without_marks.encode("ascii", "replace").decode("ascii")
    return _CONTROL_OR_SPACE_RUN.sub(" ", ascii_only).strip()
