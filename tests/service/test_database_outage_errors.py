"""A database outage inside one api process: the classification, the 503, the session closed on a
dead connection, the readiness probe's deadline. Real drivers and real sockets (an unused port, a
listener that never answers, a TCP proxy cut mid-request), no mocked exceptions."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from service.core.db import Database
from service.core.db_outage import close_quietly, is_database_unavailable
from service.core.deps import SessionDep
from tests.utils.tcp_proxy import TcpProxy
from tests.utils.users import LoggedIn
from tools.local.processes import free_port


def unreachable_url() -> str:
    return f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"  # nothing listens there


def raised(url: str, sql: str = "SELECT 1") -> Exception:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    except Exception as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("no error")


def wrapped(orig: Exception, cls: type[DBAPIError] = OperationalError) -> DBAPIError:
    return cls("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("make", "outage"),
    [
        pytest.param(lambda _: raised(unreachable_url()), True, id="connection refused"),
        pytest.param(
            lambda _: wrapped(psycopg.errors.AdminShutdown("terminating connection")),
            True,
            id="admin shutdown 57P01",
        ),
        pytest.param(
            lambda _: wrapped(psycopg.errors.TooManyConnections("too many clients")),
            True,
            id="too many connections 53300",
        ),
        pytest.param(
            lambda _: PoolTimeoutError("QueuePool limit reached"), True, id="pool timeout"
        ),
        pytest.param(
            lambda tmp: raised(f"sqlite:///{tmp / 'x.db'}", "SELECT * FROM missing"),
            False,
            id="sqlite missing table (a bug)",
        ),
        pytest.param(
            lambda _: wrapped(psycopg.errors.UniqueViolation("duplicate"), IntegrityError),
            False,
            id="unique violation",
        ),
        pytest.param(
            lambda _: wrapped(psycopg.errors.UndefinedTable("no table")),
            False,
            id="undefined table 42P01",
        ),
        pytest.param(
            lambda _: ConnectionRefusedError(111, "Connect call failed"),
            True,
            id="an async driver's unwrapped connect error",
        ),
        pytest.param(lambda _: ValueError("not the database"), False, id="not a database error"),
    ],
)
def test_is_database_unavailable_tells_outages_from_bugs(
    make: object, outage: bool, tmp_path: Path
) -> None:
    assert callable(make)
    assert is_database_unavailable(make(tmp_path)) is outage


def test_sqlite_busy_is_an_outage(tmp_path: Path) -> None:
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorname = "SQLITE_BUSY"  # what sqlite3 sets on the errors it raises
    assert is_database_unavailable(wrapped(busy))


def test_request_without_database_is_503_with_retry_after_logged_once_without_traceback(
    app: FastAPI, user: LoggedIn, caplog: pytest.LogCaptureFixture
) -> None:
    app.state.db = Database(unreachable_url())  # the next requests' sessions come from here
    with TestClient(app) as client, caplog.at_level(logging.INFO):
        response = client.get("/api/v1/items", headers={**user.headers, "X-Request-ID": "rid-down"})
        assert client.get("/healthz").status_code == 200
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    body = response.json()
    assert body["code"] == "database_unavailable"
    assert body["request_id"] == "rid-down"
    assert "127.0.0.1" not in response.text  # no internals
    warnings = [r for r in caplog.records if r.getMessage() == "database unavailable"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.postgres
def test_closing_a_session_on_a_dead_connection_raises_nothing(
    proxied_postgres: tuple[str, TcpProxy],
) -> None:
    url, proxy = proxied_postgres
    database = Database(url)
    plain, quiet = database.sessions(), database.sessions()
    for session in (plain, quiet):
        session.execute(text("SELECT 1"))  # a transaction open on a real connection each
    proxy.stop()  # the connections die under them, as in a fail-over
    with pytest.raises(OperationalError) as closing:  # the control: a plain close raises
        plain.close()
    assert is_database_unavailable(closing.value)
    close_quietly(quiet)  # what the request's session dependency does: nothing raised
    database.dispose()


@pytest.mark.postgres
def test_closing_an_async_session_on_a_dead_connection_raises_nothing(
    proxied_postgres: tuple[str, TcpProxy],
) -> None:
    # The api's sessions are AsyncSessions (service/core/deps.py closes them with
    # `run_sync(close_quietly)`): the same guarantee on the asyncio driver.
    url, proxy = proxied_postgres
    database = Database(url)

    async def scenario() -> None:
        plain, quiet = database.async_sessions(), database.async_sessions()
        for session in (plain, quiet):
            await session.execute(text("SELECT 1"))
        proxy.stop()
        with pytest.raises(OperationalError) as closing:  # the control: a plain close raises
            await plain.close()
        assert is_database_unavailable(closing.value)
        await quiet.run_sync(close_quietly)
        await database.dispose_async()

    asyncio.run(scenario())


@pytest.mark.postgres
def test_a_response_is_not_followed_by_an_error_when_the_connection_dies_before_close(
    app: FastAPI, proxied_postgres: tuple[str, TcpProxy], caplog: pytest.LogCaptureFixture
) -> None:
    url, proxy = proxied_postgres
    app.state.db = Database(url)

    @app.get("/read-then-lose-the-database")
    async def read_then_lose(session: SessionDep) -> dict[str, int]:
        value = (await session.execute(text("SELECT 1"))).scalar_one()
        proxy.stop()  # after the read, before the dependency closes the session
        return {"value": value}

    # raise_server_exceptions (the default) turns anything that escapes the app into an
    # exception here: before close_quietly, the ROLLBACK on the dead connection did.
    with TestClient(app) as client, caplog.at_level(logging.INFO):
        response = client.get("/read-then-lose-the-database")
    assert response.status_code == 200
    assert response.json() == {"value": 1}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_readyz_answers_within_its_deadline_when_the_database_never_answers(
    app: FastAPI,
) -> None:
    # A listener that accepts and never speaks: a connect to a host that went away mid-fail-over.
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(16)
    port = black_hole.getsockname()[1]
    app.state.db = Database(f"postgresql+psycopg://nobody@127.0.0.1:{port}/none")
    try:
        with TestClient(app) as client:
            first = client.get("/readyz")
            second = client.get("/readyz")  # while the first check is still stuck
            assert client.get("/healthz").status_code == 200
    finally:
        black_hole.close()
    for response in (first, second):
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable"}  # the cause is logged, not told


@pytest.mark.postgres
def test_a_stale_pooled_connection_is_retried_once_but_a_transaction_under_way_is_not(
    app: FastAPI, proxied_postgres: tuple[str, TcpProxy], caplog: pytest.LogCaptureFixture
) -> None:
    # The api's pool has no pre-ping (issue 14): a connection the server closed while it sat in
    # the pool is found out by its first statement, which is retried once on a fresh
    # connection (nothing was sent before it, nothing of it was committed). A statement later
    # in a transaction is never retried: that request answers 503.
    url, proxy = proxied_postgres
    app.state.db = Database(url, pool_size=1, max_overflow=0, pre_ping=False)

    @app.get("/one")
    async def read_one(session: SessionDep) -> dict[str, int]:
        return {"value": (await session.execute(text("SELECT 1"))).scalar_one()}

    @app.post("/one")
    async def write_one(session: SessionDep) -> dict[str, int]:
        value = (await session.execute(text("SELECT 1"))).scalar_one()
        await session.commit()
        return {"value": value}

    @app.post("/two")
    async def lose_it_mid_transaction(session: SessionDep) -> dict[str, int]:
        await session.execute(text("SELECT 1"))
        proxy.restart()  # between two statements of one transaction
        value = (await session.execute(text("SELECT 2"))).scalar_one()
        await session.commit()
        return {"value": value}

    with TestClient(app) as client, caplog.at_level(logging.INFO):
        assert client.get("/one").status_code == 200  # one connection, back in the pool
        proxy.restart()
        read = client.get("/one")
        proxy.restart()
        write = client.post("/one")
        mid_transaction = client.post("/two")
        after = client.post("/one")
    assert (read.status_code, read.json()) == (200, {"value": 1})
    assert (write.status_code, write.json()) == (200, {"value": 1})
    assert [r.getMessage() for r in caplog.records].count(
        "stale pooled connection; first statement retried on a fresh one"
    ) == 2
    assert mid_transaction.status_code == 503  # the control: not retried
    assert mid_transaction.json()["code"] == "database_unavailable"
    assert after.status_code == 200  # the failure replaced the pool's stale connections
    app.state.db.dispose()


@pytest.mark.postgres
def test_a_read_does_not_retry_when_the_database_is_down(
    app: FastAPI, proxied_postgres: tuple[str, TcpProxy]
) -> None:
    url, proxy = proxied_postgres
    app.state.db = Database(url, pre_ping=False)

    @app.get("/one")
    async def read_one(session: SessionDep) -> dict[str, int]:
        return {"value": (await session.execute(text("SELECT 1"))).scalar_one()}

    with TestClient(app) as client:
        assert client.get("/one").status_code == 200
        proxy.stop()  # down, and staying down: the retry's connect fails too
        assert client.get("/one").status_code == 503
    app.state.db.dispose()


# --- issue 23: a permanent misconfiguration, an exhausted pool, what /readyz tells the world ----


def _missing_database_url() -> str:
    """The test server, a database that does not exist (what a typo in DB_NAME gives)."""
    from tests.utils.databases import postgres_admin_url, skip_or_fail_without_postgres

    skip_or_fail_without_postgres()
    return (
        make_url(postgres_admin_url())
        .set(database="shipyard_no_such_database")
        .render_as_string(hide_password=False)
    )


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("url", "sqlstate"),
    [
        pytest.param(_missing_database_url, "3D000", id="no such database 3D000"),
        pytest.param(
            lambda: (
                make_url(_missing_database_url())
                .set(username="shipyard_no_such_role", database="test")
                .render_as_string(hide_password=False)
            ),
            "28000",
            id="no such role 28000",
        ),
    ],
)
def test_a_permanent_misconfiguration_is_500_not_retry_and_logged_as_error(
    app: FastAPI, user: LoggedIn, caplog: pytest.LogCaptureFixture, url, sqlstate: str
) -> None:
    # Issue 23: the server's FATAL refusal (the connect error carries no SQLSTATE, its message
    # does name the cause) was answered for ever as "retry shortly" and logged as a warning.
    app.state.db = Database(url())
    with TestClient(app) as client, caplog.at_level(logging.INFO):
        response = client.get("/api/v1/items", headers=user.headers)
    assert response.status_code == 500, response.text
    assert response.json()["code"] == "service_misconfigured"
    assert "retry-after" not in response.headers
    assert "shipyard_no_such" not in response.text  # no internals
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "database refuses this service's connection settings; fix the configuration"
    ]
    assert getattr(errors[0], "sqlstate", None) == sqlstate
    assert errors[0].exc_info is None


@pytest.mark.postgres
def test_the_misconfiguration_rule_matches_the_real_server_and_spares_outages() -> None:
    from service.core.db_outage import misconfiguration

    assert misconfiguration(raised(_missing_database_url())) == "3D000"
    assert misconfiguration(raised(unreachable_url())) is None  # an outage: retry
    assert misconfiguration(wrapped(psycopg.errors.AdminShutdown("terminating"))) is None


def test_an_exhausted_pool_is_503_server_busy_not_database_unavailable(
    app: FastAPI, user: LoggedIn, settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 23: every pooled connection taken (by slow readers) was answered and logged as a
    # database outage, which sent operators to RDS.
    if settings.database_url.startswith("sqlite"):
        pytest.skip("the SQLite engine (local runs) is built without pool limits to exhaust")
    app.state.db = Database(
        settings.database_url, pool_size=1, max_overflow=0, pool_timeout=0.5, sync_pool=(1, 0)
    )
    held = app.state.db.engine.pool.connect()  # the login route's one connection, taken
    try:
        with TestClient(app) as client, caplog.at_level(logging.INFO):
            response = client.post(
                "/api/v1/auth/token", data={"username": user.email, "password": "x" * 12}
            )
    finally:
        held.close()
    assert response.status_code == 503
    assert response.json()["code"] == "server_busy"
    assert response.headers["retry-after"] == "1"
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert messages == ["no free database connection within the pool timeout; the api is saturated"]


def test_readyz_tells_only_up_or_down_and_logs_the_cause(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 23: /readyz, routed publicly, answered the driver's error with the database's name.
    app.state.db = Database(unreachable_url())
    with TestClient(app) as client, caplog.at_level(logging.INFO):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    causes = [getattr(r, "error", "") for r in caplog.records if r.name == "service.health.router"]
    assert causes, "the cause was not logged"
    assert "OperationalError" in causes[0]
