"""The database password rotated while api and worker run: they read it from the secret at
each new connection (service/core/db_credentials.py), so nothing fails and nothing restarts.

The rotation is RDS's: a new secret version in Secrets Manager (moto's server), then the new
password on the server (a dedicated role in a scratch database; the `postgres` user is never
touched), then every open connection closed, as a recycle or fail-over would.

The test server authenticates loopback connections with `trust`, so it cannot refuse a stale
password: the proof that the new one is used is the processes' own record of the secret
version each connection read, next to every request and order succeeding.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import boto3
import pytest
from sqlalchemy import create_engine, make_url, text

from service.local.emulator import Emulator
from tests.utils.databases import migrated_postgres_database
from tests.utils.system import ApiClient, LocalSystem

pytestmark = [pytest.mark.slow, pytest.mark.emulator, pytest.mark.postgres]


def secret_versions_read(log: str) -> list[str]:
    return [
        json.loads(line)["secret_version"]
        for line in log.splitlines()
        if "database password read from its secret" in line
    ]


def test_api_and_worker_survive_a_password_rotation(emulator: Emulator, tmp_path: Path) -> None:
    with migrated_postgres_database("shipyard_rotation") as admin_url:
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
                {"password_secret_arn": created["ARN"], "password_cache_seconds": "1"}
            )
            .render_as_string(hide_password=False)
        )
        system = LocalSystem(database_url=url, emulator_url=emulator.url, workdir=tmp_path)
        system.create_topology()
        try:
            customer = ApiClient(system.start_api()).sign_up("rotation@example.com")
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
            time.sleep(1.5)  # past the processes' password cache
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
            admin.dispose()
            drop = create_engine(admin_url)
            with drop.begin() as connection:
                connection.execute(text(f"DROP OWNED BY {role}"))
                connection.execute(text(f"DROP ROLE {role}"))
            drop.dispose()
