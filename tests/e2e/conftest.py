from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.databases import migrated_postgres_database
from tests.utils.system import LocalSystem
from tools.local.emulator import Emulator


@pytest.fixture
def system(emulator: Emulator, tmp_path: Path) -> Iterator[LocalSystem]:
    """API and worker processes on a fresh PostgreSQL database (the production database) and a
    fresh topology on the emulator. Process logs are printed when a test fails."""
    with migrated_postgres_database("shipyard_e2e") as url:
        local = LocalSystem(database_url=url, emulator_url=emulator.url, workdir=tmp_path)
        local.create_topology()
        try:
            yield local
        finally:
            local.stop_all()
            print(local.logs())
