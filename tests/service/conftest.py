"""Fixtures shared by the service's outage tests (tests/service/test_database_outage_errors.py,
tests/service/test_hot_reads.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from tests.utils.databases import migrated_postgres_database
from tests.utils.tcp_proxy import TcpProxy


@pytest.fixture
def proxied_postgres() -> Iterator[tuple[str, TcpProxy]]:
    """A database on the shared test server, reached through a proxy the test can cut."""
    with migrated_postgres_database("shipyard_outage") as url:
        parsed = make_url(url)
        proxy = TcpProxy(parsed.port or 5432).start()
        try:
            yield parsed.set(port=proxy.port).render_as_string(hide_password=False), proxy
        finally:
            proxy.stop()
