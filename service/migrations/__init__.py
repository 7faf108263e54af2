"""Alembic migrations: `python -m service migrate` applies, `... revision` writes new ones."""
