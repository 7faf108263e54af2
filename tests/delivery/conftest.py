"""Fixtures for the delivery tests (helpers live in support.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.delivery.support import FakeClock
from tests.utils.aws_stubs import StubbedClients


@pytest.fixture(autouse=True)
def _no_runner_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as on a laptop even inside GitHub Actions: never write into the real job's files."""
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    """A real botocore ECS client with a Stubber: requests and responses are validated against
    the ECS API model, and a call without a queued response fails the test."""
    clients = StubbedClients("eu-west-1")
    yield clients.pair("ecs")
    clients.assert_all_asked()
    clients.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def github_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], dict[str, str]]:
    """Point GITHUB_OUTPUT / GITHUB_STEP_SUMMARY at temp files; returns a reader of both."""
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    output.touch()
    summary.touch()
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    def read() -> dict[str, str]:
        return {"output": output.read_text(), "summary": summary.read_text()}

    return read


def pytest_configure(config: pytest.Config) -> None:
    # The guide and github_setup tests evaluate the bootstrap; pulumi_aws warns at import about
    # its own deprecated aliases, which nothing here uses.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
