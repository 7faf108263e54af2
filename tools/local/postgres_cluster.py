"""A PostgreSQL server the test owns: a throw-away cluster on a free port that a test may stop,
start and restart (a database fail-over, a maintenance restart) without touching the shared
server on 5432 that every other test and helper uses.

Built with the installed server's own tools (`initdb`, `pg_ctl`), trust authentication on the
loopback address only (or, with `passwords=True`, trust for the `postgres` superuser and
SCRAM passwords for every other role, so a stale password is really refused), no Unix socket in
a shared folder, `fsync=off` (the data is thrown away).
PostgreSQL refuses to run as root, so as root the tools run as the `postgres` OS user and the
data folder is handed to that user. The context manager removes the cluster even when the test
fails.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.local.processes import free_port, tail

# Debian/Ubuntu install each major version beside the others; PG_BIN overrides.
_BIN_CANDIDATES = (
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
)


def server_bin_dir() -> Path | None:
    """The folder holding `initdb` and `pg_ctl`, or None when no server is installed here."""
    configured = os.environ.get("PG_BIN")
    candidates = (configured,) if configured else _BIN_CANDIDATES
    for folder in candidates:
        if folder and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


class PostgresCluster:
    """One cluster: `start()`, `stop()` (connections cut, new ones refused), `restart()`."""

    def __init__(self, bin_dir: Path, root: Path, *, passwords: bool = False) -> None:
        self.passwords = passwords
        self.bin_dir = bin_dir
        self.root = root
        self.data_dir = root / "data"
        self.log_path = root / "server.log"
        self.port = free_port()
        # As root the server must run as an unprivileged user; otherwise as ourselves.
        self.as_postgres = os.geteuid() == 0
        self._as_user = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> PostgresCluster:
        data = str(self.data_dir)
        self._run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        if self.passwords:
            # First match wins: the test's own superuser connects freely, every other role must
            # present its current password (what RDS does for the application's user).
            # (Rewritten in place: the file keeps its owner, the server's user.)
            (self.data_dir / "pg_hba.conf").write_text(
                "host all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
            )
        return self

    def start(self) -> None:
        options = " ".join(
            (
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=60",
            )
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Fast shutdown: every session is terminated (clients see the connection drop, as in a
        fail-over), then new connections are refused until `start()`."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def running(self) -> bool:
        status = subprocess.run(
            [*self._as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"],
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            [*self._as_user, str(self.bin_dir / tool), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}"
                f"{result.stderr}\n{tail(self.log_path, 20)}"
            )


@contextlib.contextmanager
def owned_postgres(*, passwords: bool = False) -> Iterator[PostgresCluster]:
    """A running cluster of the test's own, removed afterwards whatever happens.

    Skips (or fails under REQUIRE_POSTGRES=1, like the shared server's variants) when no
    PostgreSQL server is installed on this machine."""
    bin_dir = server_bin_dir()
    if bin_dir is None:
        reason = "no PostgreSQL server installed (initdb/pg_ctl); set PG_BIN to its bin folder"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    # Not pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="shipyard-pg-"))
    cluster = PostgresCluster(bin_dir, root, passwords=passwords)
    try:
        if cluster.as_postgres:
            postgres = pwd.getpwnam("postgres")
            os.chown(root, postgres.pw_uid, postgres.pw_gid)
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.data_dir.exists() and cluster.running():
            # Immediate: nothing to keep, and a test that failed may have left clients hanging.
            with contextlib.suppress(RuntimeError):
                cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
