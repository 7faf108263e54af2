"""A scratch PostgreSQL database for one rehearsal: created, migrated with the service's own
command (`python -m service migrate`), dropped at the end even when the rehearsal fails."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tools.local.databases import DatabaseError
from tools.local.databases import admin_url as local_admin_url
from tools.local.databases import scratch_database as local_scratch_database
from tools.paths import REPO_ROOT


def admin_url() -> str:
    """REHEARSAL_POSTGRES_URL, else the test suite's server (TEST_POSTGRES_URL or the default)."""
    return os.environ.get("REHEARSAL_POSTGRES_URL") or local_admin_url()


@contextmanager
def scratch_database(prefix: str = "shipyard_rehearsal") -> Iterator[str]:
    """Yield the URL of a new, migrated database; drop it afterwards."""
    with local_scratch_database(admin_url(), prefix) as url:
        migrate(url)
        yield url


def migrate(url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "migrate"],
        cwd=REPO_ROOT,
        # ENVIRONMENT has no default since issue 13 (fail closed); migrating needs none of the
        # checks a deployed environment adds, so a caller's own ENVIRONMENT wins over "local".
        env={"ENVIRONMENT": "local", **os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise DatabaseError(
            f"`python -m service migrate` exited {result.returncode}:\n{result.stderr[-3000:]}"
        )
