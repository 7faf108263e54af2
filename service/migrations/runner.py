"""Apply migrations safely when several tasks start at once.

On PostgreSQL a session-level advisory lock serialises concurrent `migrate` runs: the second
waits, then finds nothing left to do. SQLite is single-machine and serialises writers itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

# An arbitrary, fixed 64-bit key: "shipyard" in ASCII.
MIGRATION_LOCK_KEY = 0x7368697079617264
SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    return config


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Held while migrations run, by `python -m service migrate` and by the alembic CLI alike
    (service/migrations/env.py), so a hand-run `alembic upgrade` never races a deploy's."""
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        log.info("waiting for the migration lock")
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
    try:
        yield
    finally:
        if postgres:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.connect() as connection, migration_lock(connection):
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()
    log.info("database is at the latest revision", extra={"revision": revision})


def new_revision(engine: Engine, message: str) -> None:
    """Autogenerate a migration from the models' difference to the database (development)."""
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
