"""Helpers the delivery tests import: repository paths, recorded inputs, tools, a fake clock."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.paths import REPO_ROOT

DATA = Path(__file__).resolve().parent / "data"
WORKFLOWS = REPO_ROOT / ".github" / "workflows"

# Keys whose values the ECS API returns as timestamps: botocore's Stubber validates responses
# against the service model, which wants datetimes there.
_TIMESTAMP_KEYS = {"createdAt", "updatedAt", "registeredAt", "stoppedAt", "startedAt", "finishedAt"}


def _revive_timestamps(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: datetime.fromisoformat(item)
            if key in _TIMESTAMP_KEYS
            else _revive_timestamps(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_revive_timestamps(item) for item in value]
    return value


def recorded(name: str, *, renamed: tuple[str, str] | None = None) -> Any:
    """A recorded input from tests/delivery/data (JSON is parsed, ECS timestamps revived);
    `renamed=(old, new)` replaces a name throughout (another service's answer of the same shape)."""
    path = DATA / name
    text = path.read_text(encoding="utf-8")
    if renamed:
        text = text.replace(*renamed)
    if path.suffix == ".json":
        return _revive_timestamps(json.loads(text))
    return text


def tool(name: str) -> str:
    """A command-line tool installed in the project's virtualenv (requirements/dev.txt)."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed; run `make install` (it is in requirements/dev.txt)")
    return found


def load_workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean True; give it its name back.
    if True in data:
        data["on"] = data.pop(True)
    return data


class FakeClock:
    """Deterministic time for polling loops: sleeping advances the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
