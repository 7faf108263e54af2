"""The database password rotated while api and worker run: they read it from the secret at
each new connection (service/core/db_credentials.py), so nothing fails and nothing restarts.

The rotation is RDS's: a new secret version in Secrets Manager (moto's server), then the new
password on the server, then every open connection closed, as a recycle or fail-over would.

The server is a PostgreSQL cluster the test owns (tests/utils/postgres_cluster.py) that, like
RDS, makes the application's role present its current password (SCRAM); only the test's own
superuser connects without one. So the old password is really refused after the rotation (the
control below shows it), and every request and order succeeding afterwards proves the processes
read the new one; their log of the secret version each connection read says which.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import boto3
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from service.core.db import make_engine
from service.migrations.runner import upgrade
from tests.utils.system import ApiClient, LocalSystem
from tools.local.emulator import Emulator
from tools.local.postgres_cluster import owned_postgres

pytestmark = [pytest.mark.slow, pytest.mark.emulator, pytest.mark.postgres]


def secret_versions_read(log: str) -> list[str]:
    return [
        json.loads(line)["secret_version"]
        for line in log.splitlines()
        if "database password read from its secret" in line
    ]


def password_refused(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect():
            return False
    except OperationalError as exc:
        return "password authentication failed" in str(exc)
    finally:
        engine.dispose()


def test_api_and_worker_survive_a_password_rotation(emulator: Emulator, tmp_path: Path) -> None:
    with owned_postgres(passwords=True) as cluster:
        admin_url = cluster.url_for("postgres")
        setup = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with setup.connect() as connection:
            connection.execute(text("CREATE DATABASE shipyard"))
        setup.dispose()
        admin_url = cluster.url_for("shipyard")
        migrate = make_engine(admin_url)
        upgrade(migrate)
        migrate.dispose()
        role = f"rotation_{uuid.uuid4().hex[:8]}"
        admin = create_engine(admin_url)
        with admin.begin() as connection:
            connection.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'first-password-1'"))
            for kind in ("TABLES", "SEQUENCES"):
                connection.execute(text(f"GRANT ALL ON ALL {kind} IN SCHEMA public TO {role}"))
        secrets = boto3.client("secretsmanager", endpoint_url=emulator.url)
        first = {"username": role, "password": "first-password-1"}
        created = secrets.create_secret(Name=f"rds!{role}", SecretString=json.dumps(first))
        url = (
            make_url(admin_url)
            .set(username=role, password=None)
            .update_query_dict(
                {"password_secret_arn": created["ARN"], "password_cache_seconds": "600"}
            )
            .render_as_string(hide_password=False)
        )
        system = LocalSystem(database_url=url, emulator_url=emulator.url, workdir=tmp_path)
        system.create_topology()
        try:
            # The account is made on the same database as its owner role (the service's URL
            # reads its password from the emulated secret, which only the processes reach).
            customer = ApiClient(system.start_api(), admin_url).sign_up("rotation@example.com")
            system.start_worker()
            item = customer.create_item()
            before = [customer.place_order(item)["id"] for _ in range(3)]
            customer.wait_final(before)

            second = secrets.put_secret_value(
                SecretId=created["ARN"],
                SecretString=json.dumps({**first, "password": "second-password-2"}),
            )
            with admin.begin() as connection:
                connection.execute(text(f"ALTER ROLE {role} PASSWORD 'second-password-2'"))
            stale = (
                make_url(url)
                .set(password="first-password-1")
                .difference_update_query(["password_secret_arn", "password_cache_seconds"])
            )
            # Control: the server now refuses the old password, as RDS would after a rotation.
            assert password_refused(stale.render_as_string(hide_password=False))
            # No waiting for the processes' cache (10 min here): their next connection tries the
            # cached, now stale password, is refused, reads the secret again and retries once.
            with admin.begin() as connection:
                closed = connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"
                    ),
                    {"r": role},
                ).all()
            assert closed, "the processes had no open connection to close"

            after = [customer.place_order(item)["id"] for _ in range(3)]
            statuses = {o["status"] for o in customer.wait_final(before + after)}
            assert statuses == {"completed"}
            for name in ("api-*.log", "worker-*.log"):
                log = "\n".join(p.read_text() for p in tmp_path.glob(name))
                versions = secret_versions_read(log)
                assert versions[0] == created["VersionId"], name
                assert versions[-1] == second["VersionId"], f"{name} never read the new password"
        finally:
            system.stop_all()
            print(system.logs())
            admin.dispose()  # the cluster, role and all, is removed with the context
