"""Fixtures for every test: settings, a migrated database per backend, an API client, users."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from service.app import create_app
from service.auth import passwords
from service.core.config import Settings
from service.core.db import Database
from service.users.models import User
from tests.utils.databases import empty_all_tables, migrated_database
from tests.utils.dev_system import DevSystem, start_dev_system
from tests.utils.users import LoggedIn, login, register, register_and_login, unique_email
from tools.local.emulator import EMULATOR_CREDENTIALS, Emulator
from tools.local.processes import tail, terminate

# The service refuses to start without ENVIRONMENT (fail closed); the tests are local.
os.environ.setdefault("ENVIRONMENT", "local")

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


# Argon2id at its lowest cost for tests that run the app in this process: the production
# parameters (19 MiB, t=2) cost ~50 ms per hash on this machine and most tests sign up and log in,
# which made hashing a third of `make test-fast`. What the cost buys is tested where it is
# real: tests marked `real_password_hashing` (tests/service/test_password_hashing.py) and every
# test that starts `python -m service api`, whose process never sees this patch.
CHEAP_ARGON2 = passwords.argon2id(memory_kib=8, time_cost=1, parallelism=1)
CHEAP_DUMMY_HASH = passwords.dummy_hash(CHEAP_ARGON2)


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_password_hashing") is None:
        monkeypatch.setattr(passwords, "_hasher", CHEAP_ARGON2)
        monkeypatch.setattr(passwords, "_DUMMY_HASH", CHEAP_DUMMY_HASH)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database, once per session and backend; every test below runs on both."""
    with migrated_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    empty_all_tables(database_url)
    return Settings(
        environment="local",
        database_url=database_url,
        login_max_failures=3,
        login_first_delay_seconds=60,  # a delay no slow machine outruns between two requests
        relay_enabled=False,
    )


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database_url)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database=database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def user(client: TestClient) -> LoggedIn:
    return register_and_login(client)


@pytest.fixture
def other_user(client: TestClient) -> LoggedIn:
    return register_and_login(client)


@pytest.fixture
def superuser(client: TestClient, database: Database) -> LoggedIn:
    email = unique_email("admin")
    created = register(client, email)
    with database.sessions() as session:
        session.execute(update(User).where(User.id == created["id"]).values(is_superuser=True))
        session.commit()
    tokens = login(client, email)
    return LoggedIn(created["id"], email, "", tokens["access_token"], tokens["refresh_token"])


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    os.environ.update(EMULATOR_CREDENTIALS)
    log_path = tmp_path_factory.mktemp("emulator") / "moto.log"
    with Emulator(log_path=log_path) as running:
        yield running


@pytest.fixture(scope="session")
def live_dev_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevSystem]:
    """`python -m tools.local dev` (what `make dev` runs) on a free port."""
    dev = start_dev_system(tmp_path_factory.mktemp("live"))
    try:
        yield dev
    finally:
        code = terminate(dev.process).code
        assert code == 0, f"make dev exited {code}:\n{tail(dev.log_path)}"


@pytest.fixture(scope="session")
def live_system(live_dev_system: DevSystem) -> str:
    """The base URL of `make dev` as the tests start it."""
    return live_dev_system.base_url


@pytest.fixture(scope="session")
def live_system_url(live_system: str) -> str:
    return live_system


# A test that starts one of these gets its marker from the fixture, so `make test-fast`
# (`-m "not slow and not emulator and not browser"`) leaves it out without each test saying so.
MARKER_OF_FIXTURE = {"emulator": "emulator", "live_system": "slow", "browser": "browser"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = getattr(item, "fixturenames", ())
        for fixture, marker in MARKER_OF_FIXTURE.items():
            if fixture in used:
                item.add_marker(marker)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_password_hashing: hash with the production Argon2id parameters"
    )
    Path("test-artifacts").mkdir(exist_ok=True)
