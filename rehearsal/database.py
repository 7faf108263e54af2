"""A scratch PostgreSQL database for one rehearsal: created, migrated with the service's own
command (`python -m service migrate`), dropped at the end even when the rehearsal fails."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rehearsal.settings import ROOT

# The server every machine of this project runs (trust auth); REHEARSAL_POSTGRES_URL overrides,
# then TEST_POSTGRES_URL (what CI sets for the test suite).
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class DatabaseError(RuntimeError):
    """PostgreSQL is unreachable or the migration failed; the message says what to do."""


def admin_url() -> str:
    return os.environ.get("REHEARSAL_POSTGRES_URL") or os.environ.get(
        "TEST_POSTGRES_URL", DEFAULT_ADMIN_URL
    )


@contextmanager
def scratch_database(prefix: str = "shipyard_rehearsal") -> Iterator[str]:
    """Yield the URL of a new, migrated database; drop it afterwards."""
    admin = create_engine(
        admin_url(), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise DatabaseError(
            f"cannot create a database on {make_url(admin_url()).render_as_string()}: "
            f"{type(exc).__name__}: {exc}\nStart PostgreSQL (127.0.0.1:5432, trust auth) or point "
            "REHEARSAL_POSTGRES_URL at a server where this user may CREATE DATABASE."
        ) from None
    url = make_url(admin_url()).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrate(url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "migrate"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise DatabaseError(
            f"`python -m service migrate` exited {result.returncode}:\n{result.stderr[-3000:]}"
        )
