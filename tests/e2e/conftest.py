from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.core.db import make_engine
from service.local.emulator import Emulator
from service.migrations.runner import upgrade
from tests.utils.databases import scratch_postgres_database, skip_or_fail_without_postgres
from tests.utils.system import LocalSystem


@pytest.fixture
def system(emulator: Emulator, tmp_path: Path) -> Iterator[LocalSystem]:
    """API and worker processes on a fresh PostgreSQL database (the production database) and a
    fresh topology on the emulator. Process logs are printed when a test fails."""
    skip_or_fail_without_postgres()
    with scratch_postgres_database("shipyard_e2e") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        local = LocalSystem(database_url=url, emulator_url=emulator.url, workdir=tmp_path)
        local.create_topology()
        try:
            yield local
        finally:
            local.stop_all()
            print(local.logs())
