"""Migrations: the chain applies from nothing, matches the models, and several `migrate`
processes started at once (every new ECS task, say) serialise on the advisory lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text

from service.migrations.runner import MIGRATION_LOCK_KEY, alembic_config
from service.models import Base
from tests.utils.databases import scratch_postgres_database, skip_or_fail_without_postgres
from tools.local.processes import start_python, tail
from tools.paths import REPO_ROOT


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


def _alembic(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The alembic CLI installed beside this Python, run from the repository root (alembic.ini)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "alembic"), *args],
        cwd=REPO_ROOT,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _revision_of(database: Path) -> str | None:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return revision


def test_the_alembic_cli_works_from_the_repository_root(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    env = {"ENVIRONMENT": "local", "DATABASE_URL": f"sqlite:///{database}"}
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    assert head is not None
    before_head = scripts.get_revision(head).down_revision
    assert isinstance(before_head, str)

    history = _alembic("history", env=env)
    assert history.returncode == 0, history.stderr
    assert f"-> {head} (head)" in history.stdout

    upgraded = _alembic("upgrade", "head", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"Running upgrade {before_head} -> {head}" in upgraded.stderr
    assert _revision_of(database) == head
    current = _alembic("current", env=env)
    assert current.returncode == 0, current.stderr
    assert f"{head} (head)" in current.stdout

    downgraded = _alembic("downgrade", "-1", env=env)
    assert downgraded.returncode == 0, downgraded.stderr
    assert _revision_of(database) == before_head

    upgraded_again = _alembic("upgrade", "head", env=env)
    assert upgraded_again.returncode == 0, upgraded_again.stderr
    assert _revision_of(database) == head


def test_the_alembic_cli_refuses_to_guess_the_database_without_settings(tmp_path: Path) -> None:
    # Control: the URL comes from the service's settings only; without ENVIRONMENT they are
    # invalid, and alembic says so instead of migrating some default database.
    database = tmp_path / "cli.db"
    refused = _alembic("upgrade", "head", env={"DATABASE_URL": f"sqlite:///{database}"})
    assert refused.returncode != 0
    assert "invalid settings" in refused.stderr
    assert "environment" in refused.stderr
    assert not database.exists()


@pytest.mark.postgres
def test_a_hand_run_alembic_upgrade_waits_for_the_migration_lock() -> None:
    """`alembic upgrade` by hand takes the lock `python -m service migrate` takes, so it cannot
    race a deploy's migration: while another session holds the lock, it waits on it."""
    skip_or_fail_without_postgres()
    with scratch_postgres_database("shipyard_lock") as url:
        engine = create_engine(url)
        try:
            with engine.connect() as holder:
                holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
                cli = subprocess.Popen(
                    [str(Path(sys.executable).parent / "alembic"), "upgrade", "head"],
                    cwd=REPO_ROOT,
                    env={
                        "PATH": os.environ.get("PATH", ""),
                        "ENVIRONMENT": "local",
                        "DATABASE_URL": url,
                    },
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
                try:
                    waiting = _wait_for_a_waiting_advisory_lock(holder, cli)
                    assert waiting, "the CLI never asked for the migration lock"
                    assert "alembic_version" not in inspect(engine).get_table_names()
                    holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                    holder.commit()
                    output = cli.communicate(timeout=120)[0].decode()
                    assert cli.returncode == 0, output
                finally:
                    if cli.poll() is None:
                        cli.kill()
            assert "alembic_version" in inspect(engine).get_table_names()
        finally:
            engine.dispose()


def _wait_for_a_waiting_advisory_lock(
    holder: Connection, cli: subprocess.Popen[bytes], timeout: float = 60
) -> bool:
    """True once another session waits for an advisory lock (pg_locks, not granted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and cli.poll() is None:
        waiting = holder.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        ).scalar_one()
        holder.commit()
        if waiting:
            return True
        time.sleep(0.1)
    return False
