"""Test databases: a SQLite file or a throwaway PostgreSQL database, migrated once per session.

PostgreSQL comes from TEST_POSTGRES_URL (default: the local server, database `test`). Without a
reachable server the PostgreSQL variants are skipped, unless REQUIRE_POSTGRES=1 (CI) makes that
a failure: CI must never go green by skipping half the suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.core.db import make_engine
from service.migrations.runner import upgrade
from service.models import Base

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


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
    """Create an empty database, yield its URL, drop it afterwards."""
    admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(postgres_admin_url()).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_database(backend: str, tmp_dir: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / 'test.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    skip_or_fail_without_postgres()
    with scratch_postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
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
