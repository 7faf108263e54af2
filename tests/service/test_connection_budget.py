"""An api process's database connections: the async pool serves requests, a small sync pool the
password routes, the relay and the readiness probe. The platform's connection check
(platform/infra/config.py, API_CONNECTIONS_PER_PROCESS) counts exactly these two pools."""

from __future__ import annotations

from sqlalchemy.pool import Pool, QueuePool

from service.app import create_app
from service.core.config import Settings
from service.core.db import Database

# Nothing listens here: creating engines opens no connection.
NOWHERE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


def limits(pool: Pool) -> tuple[int, int]:
    assert isinstance(pool, QueuePool)
    return pool.size(), pool._max_overflow


def test_the_api_opens_at_most_its_async_pool_and_a_small_sync_pool() -> None:
    settings = Settings(environment="local", database_url=NOWHERE, relay_enabled=False)
    database = create_app(settings).state.db
    assert limits(database.async_engine.pool) == (10, 5)
    assert limits(database.engine.pool) == (settings.api_sync_pool_size, 0)
    assert settings.api_sync_pool_size == settings.password_hash_concurrency + 2 == 4


def test_control_other_processes_keep_one_pool_size_for_both_engines() -> None:
    database = Database(NOWHERE, pool_size=3, max_overflow=1)
    assert limits(database.engine.pool) == limits(database.async_engine.pool) == (3, 1)
