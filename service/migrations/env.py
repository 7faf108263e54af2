"""Alembic environment: runs on the connection `service.migrations.runner` hands over
(`python -m service migrate`), or, for the alembic CLI run from the repository root (alembic.ini),
on a connection to the database the service's settings name."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.util import CommandError
from sqlalchemy import Connection

from service.core.config import get_settings
from service.core.db import UTCDateTime, make_engine
from service.migrations.runner import migration_lock
from service.models import Base


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # UTCDateTime only converts values in Python; in the database it is a plain timestamptz.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_from_the_cli() -> None:
    if context.config.config_file_name is not None:
        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    try:
        settings = get_settings()
    except ValueError as exc:  # pydantic's message names the setting and what is wrong
        raise CommandError(
            f"invalid settings (set ENVIRONMENT, e.g. ENVIRONMENT=local, and DATABASE_URL):\n{exc}"
        ) from exc
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection, migration_lock(connection):
            run_migrations(connection)
            connection.commit()
    finally:
        engine.dispose()


handed_over = context.config.attributes.get("connection")
if handed_over is None:
    run_from_the_cli()
else:
    run_migrations(handed_over)
