"""Scratch PostgreSQL databases for tests, rehearsals and benchmarks: created empty on a server
where the user may CREATE DATABASE, dropped afterwards even when the caller fails."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The server every machine of this project runs (trust auth); TEST_POSTGRES_URL overrides (CI).
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class DatabaseError(RuntimeError):
    """PostgreSQL is unreachable or refused; the message says what to do."""


def admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


@contextmanager
def scratch_database(admin: str, prefix: str) -> Iterator[str]:
    """Create an empty database through the `admin` URL, yield its URL, drop it afterwards."""
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        engine.dispose()
        raise DatabaseError(
            f"cannot create a database on {make_url(admin).render_as_string()}: "
            f"{type(exc).__name__}: {exc}\nStart PostgreSQL (127.0.0.1:5432, trust auth) or point "
            "TEST_POSTGRES_URL at a server where this user may CREATE DATABASE."
        ) from None
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
