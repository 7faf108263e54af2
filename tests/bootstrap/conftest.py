"""The bootstrap program evaluated under mocks; shared with tests/trust."""

from __future__ import annotations

import pytest

from tests.trust.conftest import bootstrap, bootstrap_variant  # noqa: F401 - fixtures


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
