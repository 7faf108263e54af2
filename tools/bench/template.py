"""fastapi/full-stack-fastapi-template's backend, measured in the same run as ours (issue 25).

What a user would pick instead of this service, so "ahead of it" is a figure: its backend, at a
pinned commit, installed from its own `backend/pyproject.toml` into a virtualenv of its own
(never into ours, never vendored), migrated with its own Alembic scripts on a scratch database
of the same PostgreSQL, started as one uvicorn process like ours, and loaded by the same wrk
runs on its equivalent endpoints. The checkout comes from a local path (`--template-path`, for
machines that reach no git host) or is cloned by the bench (`--template-git URL@COMMIT`).

Where its work differs from ours (written next to its row in RESULTS.md): its handlers are
plain `def` (the thread pool), each request opens an ORM `Session`; its token check is a JWT
decode and the user by id (no login, version or revocation check); its list answers the page
and a separate count, newest first, UUID keys; it has no orders.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from tools.local.processes import free_port, start, terminate, wait_until_ready

# The newest commit whose backend still runs on Python 3.11 (later ones require 3.14, which this
# project's machines do not have); 2026-06-25, "Update release notes".
PINNED_COMMIT = "a727535488542228dc19b13f217a104ad317c122"
UPSTREAM = "https://github.com/fastapi/full-stack-fastapi-template"
API = "/api/v1"


class TemplateError(RuntimeError):
    """The template could not be fetched, installed, migrated or started (the message says how)."""


@dataclass(frozen=True)
class TemplateSource:
    """A checkout on disk (`path`), or a git URL and the commit to check out into the work dir."""

    path: Path | None = None
    git_url: str | None = None
    commit: str = PINNED_COMMIT

    @classmethod
    def from_git_spec(cls, spec: str) -> TemplateSource:
        """`URL@COMMIT` (or `URL`, at the pinned commit)."""
        url, at, commit = spec.rpartition("@")
        if not at or "/" in commit or not commit:  # no commit given (or "@" belonged to the URL)
            return cls(git_url=spec)
        return cls(git_url=url, commit=commit)

    def checkout(self, workdir: Path) -> Path:
        if self.path is not None:
            if not (self.path / "backend" / "pyproject.toml").is_file():
                raise TemplateError(
                    f"{self.path} is not a checkout of {UPSTREAM} (no backend/pyproject.toml); "
                    "give --template-path a clone of it, or --template-git URL@COMMIT"
                )
            return self.path
        assert self.git_url is not None
        target = workdir / "template-src"
        if not target.exists():
            _run(["git", "clone", "--quiet", self.git_url, str(target)], what="cloning")
        _run(["git", "-C", str(target), "checkout", "--quiet", self.commit], what="checking out")
        return target


def commit_of(checkout: Path) -> str:
    """The checkout's commit, or "unknown" (a copy without .git)."""
    found = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() if found.returncode == 0 else "unknown"


def _run(
    command: list[str], *, what: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise TemplateError(f"{what} failed ({' '.join(command[:3])} …): " + " | ".join(tail))


def _uv() -> str:
    beside = Path(sys.executable).parent / "uv"  # make install puts uv into .venv
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise TemplateError("uv not found: run `make install` (it installs uv into .venv)")
    return found


def install(checkout: Path, venvs: Path) -> Path:
    """The backend installed from its own pyproject.toml into a virtualenv kept per commit
    (under .local/, reused by the next run); returns its python."""
    venv = venvs / f"template-{commit_of(checkout)[:12]}"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if not stamp.exists():
        _run([_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], what="uv venv")
        _run(
            [
                _uv(),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(python),
                str(checkout / "backend"),
            ],
            what="installing the template's backend",
        )
        stamp.touch()
    return python


def template_env(database_url: str, port: int) -> dict[str, str]:
    """Its settings (backend/app/core/config.py) for one scratch database; set in the
    environment, which wins over its ../.env (whose "changethis" values `staging` refuses)."""
    url = make_url(database_url)
    return {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")},
        "ENVIRONMENT": "staging",  # as our bench servers run
        "PROJECT_NAME": "template-bench",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "FIRST_SUPERUSER": "admin@example.com",
        "FIRST_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
        "POSTGRES_SERVER": url.host or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        # Not "changethis" (refused outside local); ignored by a trust-auth server.
        "POSTGRES_PASSWORD": url.password or "unused-password",
        "POSTGRES_DB": url.database or "",
        "PORT": str(port),
    }


@dataclass
class TemplateServer:
    url: str
    process: subprocess.Popen[bytes]
    commit: str

    def stop(self) -> None:
        terminate(self.process, stop_timeout=30)


def start_template(
    source: TemplateSource, *, database_url: str, workdir: Path, venvs: Path
) -> TemplateServer:
    """Fetch, install, migrate and start the template on `database_url` (a scratch database)."""
    checkout = source.checkout(workdir)
    python = install(checkout, venvs)
    backend = checkout / "backend"
    port = free_port()
    env = template_env(database_url, port)
    _run(
        [str(python), "-m", "alembic", "upgrade", "head"],
        what="its migrations",
        cwd=backend,
        env=env,
    )
    log_path = workdir / "template.log"
    # One process, as ours (its image runs `fastapi run --workers 4`, i.e. uvicorn).
    process = start(
        [
            str(python),
            "-m",
            "uvicorn",
            "app.main:app",
            "--app-dir",
            str(backend),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env=env,
        log_path=log_path,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_ready(f"{url}{API}/utils/health-check/", process, log_path, timeout=90)
    return TemplateServer(url=url, process=process, commit=commit_of(checkout))


@dataclass(frozen=True)
class TemplateUser:
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def create_users(base_url: str, count: int, *, items: int, password: str) -> list[TemplateUser]:
    """Accounts through its own open sign-up and login, each with `items` items."""
    users = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for _ in range(count):
            email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
            client.post(
                f"{API}/users/signup", json={"email": email, "password": password}
            ).raise_for_status()
            login = client.post(
                f"{API}/login/access-token", data={"username": email, "password": password}
            )
            login.raise_for_status()
            user = TemplateUser(login.json()["access_token"])
            for n in range(items):
                client.post(
                    f"{API}/items/", headers=user.auth, json={"title": f"bench item {n}"}
                ).raise_for_status()
            users.append(user)
    return users
