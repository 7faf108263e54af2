"""The one exception every deploy script raises for an expected failure, and reading the JSON
files steps hand to each other.

`main()` functions turn it into an `error:` line (a GitHub error annotation on a runner) and exit
status 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class DeployError(RuntimeError):
    """A pipeline step failed for a reason the message explains, with what to do next."""


def read_json(path: Path, *, made_by: str) -> Any:
    """A JSON file an earlier step wrote (`made_by` is the command that writes it)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DeployError(f"{path} does not exist: write it first with `{made_by}`") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise DeployError(f"cannot read {path} ({exc}); it must hold `{made_by}`") from exc
