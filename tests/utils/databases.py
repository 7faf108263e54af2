"""Test databases: a SQLite file or a throwaway PostgreSQL database, migrated once per session.

PostgreSQL comes from TEST_POSTGRES_URL (default: the local server, database `test`). Without a
reachable server the PostgreSQL variants are skipped, unless REQUIRE_POSTGRES=1 (CI) makes that
a failure: CI must never go green by skipping half the suite.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from service.core.db import make_engine
from service.migrations.runner import upgrade
from service.models import Base
from tools.local.databases import admin_url, scratch_database


def postgres_admin_url() -> str:
    return admin_url()


def postgres_available() -> str | None:
    """None when reachable, else the reason."""
    try:
        engine = create_engine(postgres_admin_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {postgres_admin_url()} unreachable: {type(exc).__name__}: {exc}"
    return None


def skip_or_fail_without_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (REQUIRE_POSTGRES=1)")
    pytest.skip(reason)


@contextmanager
def scratch_postgres_database(prefix: str = "shipyard_test") -> Iterator[str]:
    """An empty database on the test server, dropped afterwards."""
    with scratch_database(postgres_admin_url(), prefix) as url:
        yield url


@contextmanager
def migrated_postgres_database(prefix: str = "shipyard_test") -> Iterator[str]:
    """A database on the test server at the latest migration, dropped afterwards."""
    skip_or_fail_without_postgres()
    with scratch_postgres_database(prefix) as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@contextmanager
def migrated_database(backend: str, tmp_dir: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / 'test.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    with migrated_postgres_database() as url:
        yield url


def empty_all_tables(url: str) -> None:
    engine = make_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - our table names
    engine.dispose()
