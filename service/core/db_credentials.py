"""The database password read from Secrets Manager when a connection is made, not at start.

RDS rotates a managed master password (every 7 days by default) in its Secrets Manager secret;
ECS injects secrets into a task only when it starts, so a long-running task would reconnect
(pool recycle, fail-over) with a stale password. With `DB_PASSWORD_SECRET_ARN` set, each new
connection takes the password from the secret instead, cached for a short while (a burst of
connections reads it once). If the server refuses the cached password (rotated within the cache
time), the cache is dropped and the connection retried once with the secret's current value.

Hooked into the engine with SQLAlchemy's `do_connect` event (service/core/db.py), which also
works on an asyncio engine's `sync_engine`. The secret may be RDS's JSON
(`{"username": ..., "password": ...}`) or the password itself.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

# Query parameters of DATABASE_URL read (and removed) by service/core/db.py.
SECRET_ARN_PARAMETER = "password_secret_arn"  # noqa: S105 - a parameter name
CACHE_SECONDS_PARAMETER = "password_cache_seconds"
DEFAULT_CACHE_SECONDS = 60.0


class SecretPassword:
    def __init__(
        self,
        secret_id: str,
        *,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        client_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secret_id = secret_id
        self.cache_seconds = cache_seconds
        # AWS_ENDPOINT_URL / AWS_REGION from the environment, like the service's other clients.
        self._client_factory = client_factory or (lambda: boto3.client("secretsmanager"))
        self._client: Any = None
        self._clock = clock
        self._lock = threading.Lock()
        self._value: str | None = None
        self._version: str | None = None
        self._read_at = 0.0

    def current(self) -> str:
        with self._lock:
            if self._value is None or self._clock() - self._read_at >= self.cache_seconds:
                self._read()
            assert self._value is not None
            return self._value

    def forget(self) -> None:
        with self._lock:
            self._value = None

    def _read(self) -> None:
        if self._client is None:
            self._client = self._client_factory()
        answer = self._client.get_secret_value(SecretId=self.secret_id)
        text = str(answer["SecretString"])
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        value = str(parsed["password"]) if isinstance(parsed, dict) else text
        version = answer.get("VersionId")
        if version != self._version:
            log.info(
                "database password read from its secret",
                extra={"secret_version": version, "previous_version": self._version},
            )
        self._value, self._version, self._read_at = value, version, self._clock()


def _refused_password(error: Exception) -> bool:
    return "password authentication failed" in str(error)


def use_secret_password(engine: Engine, password: SecretPassword) -> None:
    """Every new DBAPI connection of `engine` authenticates with the secret's password."""

    @event.listens_for(engine, "do_connect")
    def connect(dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        cparams["password"] = password.current()
        try:
            return dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError as error:
            if not _refused_password(error):
                raise
            # Rotated since we cached it: read the secret again, one retry.
            log.warning("database refused the cached password; reading the secret again")
            password.forget()
            cparams["password"] = password.current()
            return dialect.connect(*cargs, **cparams)
