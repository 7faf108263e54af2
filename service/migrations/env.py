"""Alembic environment: always runs on the connection `service.migrations.runner` hands over."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from service.core.db import UTCDateTime
from service.models import Base


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # UTCDateTime only converts values in Python; in the database it is a plain timestamptz.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `python -m service migrate`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
