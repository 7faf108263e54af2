"""Migrations: the chain applies from nothing, matches the models, and several `migrate`
processes started at once (every new ECS task, say) serialise on the advisory lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from service.models import Base
from tests.utils.databases import scratch_postgres_database, skip_or_fail_without_postgres
from tools.local.processes import start_python, tail


def test_migrations_match_the_models(database_url: str) -> None:
    """The session's database was built by the migrations; the models must not differ from it."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; run `python -m service revision`: {diff}"


@pytest.mark.postgres
@pytest.mark.slow
def test_concurrent_migrate_processes_all_succeed(tmp_path: Path) -> None:
    skip_or_fail_without_postgres()
    with scratch_postgres_database("shipyard_migrate") as url:
        processes = [
            start_python(
                ["-m", "service", "migrate"],
                env={"DATABASE_URL": url},
                log_path=tmp_path / f"migrate-{n}.log",
            )
            for n in range(4)
        ]
        codes = [p.wait(120) for p in processes]
        logs = [tail(tmp_path / f"migrate-{n}.log") for n in range(4)]
        assert codes == [0, 0, 0, 0], "\n\n".join(logs)
        engine = create_engine(url)
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            tables = set(inspect(connection).get_table_names())
        engine.dispose()
        assert len(versions) == 1
        assert {"users", "items", "orders", "outbox_events"} <= tables
        # Exactly one process ran the upgrade; the others found the database at head.
        assert sum("Running upgrade  -> 0001" in log for log in logs) == 1
