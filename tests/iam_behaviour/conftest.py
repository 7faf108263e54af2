"""One emulator per module, started through the launcher that corrects moto's access control
(tools/local/moto_server.py); each test switches enforcement on after its own setup."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tools.local.emulator import EMULATOR_CREDENTIALS, Emulator


@pytest.fixture(scope="module")
def iam_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    os.environ.update(EMULATOR_CREDENTIALS)
    log_path = tmp_path_factory.mktemp("iam-emulator") / "moto.log"
    with Emulator(log_path=log_path) as running:
        yield running


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws warns at import about its own deprecated aliases; nothing here uses them.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
