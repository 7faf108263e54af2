"""Logs with the request id of the request being served: JSON lines for machines, one readable
line per record for a person at a terminal.

`LOG_FORMAT` chooses: `json`, `text`, or `auto` (the default): text when the stream the logs go
to is a terminal (`make dev`), JSON otherwise. On ECS the stream is never a terminal, so
production logs stay JSON (CloudWatch Logs Insights reads their fields) without any setting.
The choice follows the stream we write, not stderr: `python -m service api | jq` must get JSON.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

LogFormat = Literal["json", "text"]
LOG_FORMAT_ENV = "LOG_FORMAT"
_CHOICES = ("auto", "json", "text")

# Attributes every LogRecord has; anything else came through `extra=` and becomes a field.
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of msg
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """What the call passed through `extra=`, and the request id of the request being served."""
    fields: dict[str, Any] = {}
    request_id = request_id_var.get()
    if request_id:
        fields["request_id"] = request_id
    for key, value in record.__dict__.items():
        if key not in _STANDARD_ATTRS and not key.startswith("_"):
            fields[key] = value
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`14:03:07.215 INFO  service.messaging.worker  order processed  order_id=7 status=completed`

    Local time, as a person at the terminal reads the clock; the same fields as the JSON line.
    A value with spaces is quoted so that `key=value` pairs stay unambiguous."""

    def format(self, record: logging.LogRecord) -> str:
        clock = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        line = f"{clock} {record.levelname:<5} {record.name}  {record.getMessage()}"
        pairs = " ".join(f"{key}={_text_value(value)}" for key, value in _extras(record).items())
        if pairs:
            line += f"  {pairs}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text_value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text) if not text or any(c.isspace() or c in '"=' for c in text) else text


def log_format(stream: TextIO, environ: Mapping[str, str] = os.environ) -> LogFormat:
    """The format for logs written to `stream`, from `LOG_FORMAT` (see the module docstring)."""
    chosen = environ.get(LOG_FORMAT_ENV, "auto").strip().lower() or "auto"
    if chosen not in _CHOICES:
        raise ValueError(f"{LOG_FORMAT_ENV}={chosen!r}: expected one of {', '.join(_CHOICES)}")
    if chosen == "auto":
        isatty = getattr(stream, "isatty", None)
        return "text" if isatty is not None and isatty() else "json"
    return "text" if chosen == "text" else "json"


def configure_logging(level: str = "INFO", *, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    handler = logging.StreamHandler(stream)
    text = log_format(stream) == "text"
    handler.setFormatter(TextFormatter() if text else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our access log replaces uvicorn's (it has the request id and the duration).
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for noisy in ("botocore", "boto3", "urllib3", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
