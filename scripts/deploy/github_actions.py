"""The runner conventions the deploy scripts use: step outputs, annotations, job summaries.

On a GitHub runner these write to the files named by GITHUB_OUTPUT / GITHUB_STEP_SUMMARY and print
workflow commands; anywhere else (a laptop, the tests) outputs and summaries go to stdout, so each
script behaves the same in both places.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from scripts.deploy.errors import DeployError

Level = Literal["notice", "warning", "error"]


def _escape_data(text: str) -> str:
    # Workflow-command escaping (actions/toolkit `escapeData`): a raw newline would end the command.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotate(level: Level, message: str, *, title: str | None = None) -> None:
    """Print an annotation GitHub shows on the run page (plain text elsewhere, still readable)."""
    props = f" title={_escape_property(title)}" if title else ""
    print(f"::{level}{props}::{_escape_data(message)}", flush=True)


def set_output(name: str, value: str) -> None:
    """Set a step output (`steps.<id>.outputs.<name>`); multi-line values are supported."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        print(f"{name}={value}")
        return
    with Path(path).open("a", encoding="utf-8") as handle:
        if "\n" in value:
            delimiter = f"EOF_{secrets.token_hex(8)}"  # random: the value cannot end the block
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            handle.write(f"{name}={value}\n")


def append_summary(markdown: str) -> None:
    """Append Markdown to the job summary shown on the run page."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        print(markdown)
        return
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(markdown.rstrip("\n") + "\n")


def run_main(body: Callable[[], int]) -> int:
    """Run a script's body: an expected failure becomes one `error` annotation and exit status 1."""
    try:
        return body()
    except DeployError as failure:
        annotate("error", str(failure))
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
