"""Ready accounts for the tools that drive the API (the rehearsal's load, the benchmarks, the
screenshot): made with the operator command `python -m service create-user EMAIL
--password-stdin --confirmed` on the server's database, as an operator would. A sign-up over
HTTP must confirm its address before it can log in (issue 23), and the API has no back door."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from tools.paths import REPO_ROOT

# Each command is a Python start-up and one Argon2 hash; a few at a time suit two cores.
_AT_ONCE = 4


class AccountError(RuntimeError):
    """The operator command refused to create an account; the message quotes it."""


def create_ready_account(
    database_url: str, email: str, password: str, *, full_name: str | None = None
) -> None:
    name = ["--full-name", full_name] if full_name else []
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "service",
            "create-user",
            email,
            "--password-stdin",
            "--confirmed",
            *name,
        ],
        cwd=REPO_ROOT,
        # Only the database is touched: none of a deployed environment's checks apply.
        env={
            "ENVIRONMENT": "local",
            **os.environ,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
        },
        input=password + "\n",  # never on the command line, where `ps` shows it
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AccountError(
            f"python -m service create-user {email} exited {result.returncode}: "
            f"{(result.stderr or result.stdout).strip()[-500:]}"
        )


def create_ready_accounts(database_url: str, emails: Sequence[str], password: str) -> None:
    with ThreadPoolExecutor(_AT_ONCE) as pool:
        list(pool.map(lambda email: create_ready_account(database_url, email, password), emails))
