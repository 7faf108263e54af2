"""Log lines: JSON when nobody reads them at a terminal (ECS, files, pipes), one readable line per
record at a terminal (`make dev`), and `LOG_FORMAT` to choose either way."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from service.core.logs import (
    JsonFormatter,
    TextFormatter,
    configure_logging,
    log_format,
    request_id_var,
)
from tools.paths import REPO_ROOT


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def record(msg: str = "order processed", **extra: object) -> logging.LogRecord:
    made = logging.makeLogRecord(
        {"name": "service.messaging.worker", "msg": msg, "levelno": 20, "levelname": "INFO"}
    )
    made.__dict__.update(extra)
    return made


@pytest.mark.parametrize(
    ("stream", "environ", "expected"),
    [
        (Terminal(), {}, "text"),
        (io.StringIO(), {}, "json"),  # a file or a pipe: ECS's case
        (Terminal(), {"LOG_FORMAT": "json"}, "json"),
        (io.StringIO(), {"LOG_FORMAT": "text"}, "text"),
        (Terminal(), {"LOG_FORMAT": "auto"}, "text"),
        (io.StringIO(), {"LOG_FORMAT": " JSON "}, "json"),
    ],
)
def test_the_format_follows_the_stream_unless_log_format_says(stream, environ, expected) -> None:
    assert log_format(stream, environ) == expected


def test_an_unknown_log_format_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT='yaml': expected one of auto, json, text"):
        log_format(io.StringIO(), {"LOG_FORMAT": "yaml"})


def test_a_text_line_has_time_level_logger_message_extras_and_the_request_id() -> None:
    token = request_id_var.set("rid-7")
    try:
        line = TextFormatter().format(
            record(order_id=7, status="completed", error="database is down", nested={"a": 1})
        )
    finally:
        request_id_var.reset(token)
    clock, rest = line.split(" ", 1)
    assert len(clock) == len("14:03:07.215")
    assert clock[2] == clock[5] == ":"
    assert rest.startswith("INFO  service.messaging.worker  order processed  ")
    assert "request_id=rid-7" in line
    assert "order_id=7 status=completed" in line
    assert 'error="database is down"' in line  # spaces quoted: pairs stay unambiguous
    assert 'nested="{\\"a\\": 1}"' in line
    assert "\n" not in line  # one line per record


def test_a_text_line_carries_the_traceback_below_it() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failed = record("message failed", exc_info=sys.exc_info())
    text = TextFormatter().format(failed)
    first, *rest = text.splitlines()
    assert first.endswith("message failed")
    assert rest[-1] == "RuntimeError: boom"


def test_json_and_text_carry_the_same_fields() -> None:
    extra: dict[str, Any] = {"order_id": 7, "queue_url": "http://127.0.0.1:5000/q"}
    as_json = json.loads(JsonFormatter().format(record(**extra)))
    as_text = TextFormatter().format(record(**extra))
    for key, value in extra.items():
        assert as_json[key] == value
        assert f"{key}={value}" in as_text


@pytest.mark.usefixtures("restore_root_logger")
def test_configure_logging_writes_text_to_a_terminal_and_json_elsewhere(monkeypatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    terminal, pipe = Terminal(), io.StringIO()
    configure_logging("INFO", stream=terminal)
    logging.getLogger("service.test").info("hello", extra={"n": 1})
    configure_logging("INFO", stream=pipe)
    logging.getLogger("service.test").info("hello", extra={"n": 1})
    assert terminal.getvalue().rstrip().endswith("service.test  hello  n=1")
    assert json.loads(pipe.getvalue())["msg"] == "hello"


def test_a_real_process_on_a_pseudo_terminal_writes_text_and_into_a_pipe_json() -> None:
    """The decision a process makes by itself, on a real terminal (what `make dev` shows) and on
    a pipe (what ECS's log driver reads)."""
    program = (
        "import logging\n"
        "from service.core.logs import configure_logging\n"
        "configure_logging('INFO')\n"
        "logging.getLogger('service.x').info('ready', extra={'port': 8000})\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    piped = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert json.loads(piped.stdout)["port"] == 8000

    controller, terminal = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-c", program], cwd=REPO_ROOT, env=env, stdout=terminal, check=True
        )
        shown = os.read(controller, 4096).decode()
    finally:
        os.close(controller)
        os.close(terminal)
    assert "INFO  service.x  ready  port=8000" in shown
    assert not shown.lstrip().startswith("{")
