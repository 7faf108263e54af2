"""All service settings, read once from the environment (pydantic-settings).

`ENVIRONMENT` has no default: a process started without it stops at once (fail closed), so a
deployment that forgot its settings never runs with the local placeholders. `make dev`
(`python -m tools.local dev`), the local process launcher and the tests set `ENVIRONMENT=local`;
outside `local` the placeholders are refused so a misconfigured deployment fails at start, not at
the first login.
"""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from ipaddress import ip_network
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import URL

from service.messaging.topology import TOPOLOGY

PLACEHOLDER_SECRET = "local-development-secret-change-me-0123456789"  # noqa: S105 - refused outside local


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    environment: Literal["local", "staging", "production"]
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # --- server ---------------------------------------------------------------------------------
    # Server processes per task (`WEB_CONCURRENCY`, the name uvicorn and gunicorn read). One
    # process uses at most one core (the GIL); issue 14 measured ~5-9 ms of CPU per request in
    # one process, which saturates that core. So: one per vCPU of the task. Each process has its
    # own database pool, password-hashing limit and relay thread, so connections to the database
    # are web_concurrency x (DB_POOL_SIZE + DB_MAX_OVERFLOW + api_sync_pool_size) per task.
    web_concurrency: Annotated[int, Field(ge=1, le=16)] = 1

    # --- database -------------------------------------------------------------------------------
    database_url: str = "sqlite:///.local/shipyard.db"
    # On AWS the URL is composed from parts: ECS injects DB_PASSWORD from the RDS-managed secret.
    db_host: str | None = None
    db_port: Annotated[int, Field(ge=1, le=65_535)] = 5432
    db_name: str = "shipyard"
    db_user: str = "shipyard"
    db_password: SecretStr | None = None
    # Instead of DB_PASSWORD: the RDS-managed secret, read at each new connection (survives
    # rotation without a restart; service/core/db_credentials.py).
    db_password_secret_arn: str | None = None
    # The api's async engine (every request but the password routes), per server process.
    db_pool_size: Annotated[int, Field(ge=1, le=100)] = 10
    db_max_overflow: Annotated[int, Field(ge=0, le=100)] = 5
    # How long a request waits for a free pooled connection before it is answered
    # 503 `server_busy` (SQLAlchemy's default, 30 s, kept clients hanging past the ALB's patience).
    db_pool_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0

    # --- tokens ---------------------------------------------------------------------------------
    jwt_secret: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    jwt_issuer: str = "shipyard"
    jwt_audience: str = "shipyard-api"
    access_token_minutes: Annotated[int, Field(ge=1, le=60)] = 15
    refresh_token_days: Annotated[int, Field(ge=1, le=90)] = 14

    # A login family (one login and every refresh rotated from it) ends this long after the login,
    # however often it is refreshed: a stolen refresh token cannot slide for ever.
    session_max_days: Annotated[int, Field(ge=1, le=365)] = 30
    # Lifetime of the token that confirms a new e-mail address (logged in `local`).
    email_confirmation_hours: Annotated[int, Field(ge=1, le=168)] = 24

    # --- password hashing (Argon2id; service/auth/passwords.py) ---------------------------------
    # Hashes computed at once per process; each holds Argon2's memory (19 MiB), so this bounds the
    # process's memory under a login flood. Requests beyond it wait, then get 503 + Retry-After.
    password_hash_concurrency: Annotated[int, Field(ge=1, le=16)] = 2
    password_hash_wait_seconds: Annotated[float, Field(ge=0, le=30)] = 5.0

    @property
    def api_sync_pool_size(self) -> int:
        """The api's sync engine serves only the password routes (their hashes run on threads,
        at most `password_hash_concurrency` at once), the in-process outbox relay and the
        readiness probe: one connection each, no overflow. A login beyond that waits for a
        connection and, failing that, is answered 503 like any exhausted pool. The platform's
        connection budget (platform/infra/config.py) counts this and the async pool."""
        return self.password_hash_concurrency + 2

    # --- login throttle (service/auth/throttle.py): per (account, client address), per client
    # address and per account, the first N failures inside the window are free, each further one
    # doubles a delay before the next attempt (from the first delay up to the cap): guessing slows
    # down and nobody can hold an account locked for the window. LOGIN_MAX_FAILURES is the
    # (account, client) one.
    login_max_failures: Annotated[int, Field(ge=1, le=100)] = 5
    login_client_max_failures: Annotated[int, Field(ge=1, le=10_000)] = 30
    login_account_max_failures: Annotated[int, Field(ge=1, le=10_000)] = 50
    login_failure_window_seconds: Annotated[int, Field(ge=1, le=86_400)] = 900
    login_first_delay_seconds: Annotated[int, Field(ge=1, le=3600)] = 1
    login_max_delay_seconds: Annotated[int, Field(ge=1, le=3600)] = 60
    # Sign-ups per client network (an IPv4 address, an IPv6 /64) before each further one waits
    # (doubling delays like the login throttle's). Counted before the password is hashed, so a
    # flood of sign-ups never takes the Argon2 slots logins need.
    signup_client_max: Annotated[int, Field(ge=1, le=10_000)] = 5
    # Unconfirmed accounts older than this no longer hold their address (a later sign-up of the
    # same address takes it over); also the sign-up confirmation token's lifetime.
    signup_confirmation_hours: Annotated[int, Field(ge=1, le=168)] = 24
    # Expired throttle rows and dead refresh tokens are deleted by a login at most this often.
    prune_interval_seconds: Annotated[int, Field(ge=0, le=86_400)] = 300

    # --- HTTP -----------------------------------------------------------------------------------
    cors_origins: Annotated[list[str], NoDecode] = []
    # Proxies whose X-Forwarded-For/-Proto we believe (addresses or CIDR ranges, comma-separated).
    # The client address is the rightmost X-Forwarded-For entry that is not one of them, so a
    # caller cannot choose it. On AWS: the VPC range (the ALB's nodes) and CloudFront's
    # origin-facing ranges (the managed prefix list com.amazonaws.global.cloudfront.origin-facing);
    # The API server requires it outside local (see missing_api_settings).
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = [ip_network("127.0.0.1/32")]
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65_535)] = 8000
    # Must exceed the ALB idle timeout (60 s), or the ALB reuses a socket we just closed: a 502.
    keepalive_seconds: Annotated[int, Field(ge=61, le=4000)] = 75
    # Cap on finishing in-flight requests after SIGTERM; must stay below ECS's stopTimeout (30 s).
    graceful_shutdown_seconds: Annotated[int, Field(ge=1, le=110)] = 20
    # Seconds /readyz reports 503 before the server stops accepting: lets a proxy see the drain.
    drain_notice_seconds: Annotated[float, Field(ge=0, le=60)] = 0
    # uvicorn's limits (service/server.py, service/core/http_protocol.py): the request line and
    # headers together (431 beyond it; 32 MiB heads were read whole before), connections and
    # requests in progress per process (503 beyond it), and how long an answer may wait on a
    # client that does not read before the connection is dropped.
    max_request_head_bytes: Annotated[int, Field(ge=8 * 1024, le=1024 * 1024)] = 64 * 1024
    limit_concurrency: Annotated[int, Field(ge=10, le=100_000)] = 2000
    write_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    web_root: str | None = None  # a folder of static files to serve at / (make dev serves web/)

    # --- AWS messaging (see service/messaging/topology.py) ---------------------------------------
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None  # the local emulator; unset on AWS
    # Topic ARNs, queue URLs and dead-letter queue URLs keyed by the topology's keys, each read
    # from the environment variable the topology names for it (`ORDERS_TOPIC_ARN` -> topic_arns
    # ["orders"]; see `_TopologyEnvironment`): a new topic or queue is one edit, in topology.py.
    # Dead-letter queues are read only by operators, tests and `make dev`'s messages.
    topic_arns: dict[str, str] = Field(default_factory=dict)
    queue_urls: dict[str, str] = Field(default_factory=dict)
    dlq_urls: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Values passed in win, then the topology's variables, then pydantic's own sources.
        topology = _TopologyEnvironment(settings_cls)
        return init_settings, topology, env_settings, dotenv_settings, file_secret_settings

    @field_validator("topic_arns", "queue_urls", "dlq_urls")
    @classmethod
    def _declared_and_well_formed(
        cls, value: dict[str, str], info: ValidationInfo
    ) -> dict[str, str]:
        names = TOPOLOGY.endpoint_env_vars()[info.field_name or ""]
        expected = ("arn:",) if info.field_name == "topic_arns" else ("http://", "https://")
        problems = []
        for key, endpoint in value.items():
            if key not in names:
                problems.append(f"{key!r} is not declared in service/messaging/topology.py")
            elif not endpoint.startswith(expected):
                problems.append(
                    f"{names[key]}={endpoint!r} does not start with {' or '.join(expected)}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return value

    # --- outbox relay ---------------------------------------------------------------------------
    relay_enabled: bool = True  # the API process runs the relay in a background thread
    relay_batch_size: Annotated[int, Field(ge=1, le=500)] = 50
    relay_poll_seconds: Annotated[float, Field(gt=0, le=60)] = 0.2
    relay_max_backoff_seconds: Annotated[float, Field(gt=0, le=300)] = 30

    # --- worker ---------------------------------------------------------------------------------
    worker_batch_size: Annotated[int, Field(ge=1, le=10)] = 10  # SQS allows at most 10
    # Message groups (customers) handled at once; one group's messages always one at a time.
    worker_concurrency: Annotated[int, Field(ge=1, le=10)] = 4
    # Long polling (SQS allows up to 20 s); a stopping worker waits for the poll to return, so
    # this must stay below worker_shutdown_seconds.
    worker_wait_seconds: Annotated[int, Field(ge=0, le=20)] = 10
    worker_visibility_timeout_seconds: Annotated[int, Field(ge=5, le=43_200)] = 60
    # After SIGTERM: finish the batch in hand within this, release the rest; below stopTimeout.
    worker_shutdown_seconds: Annotated[int, Field(ge=1, le=110)] = 20
    # Simulated work per order (the fulfilment call a real system would make).
    worker_processing_seconds: Annotated[float, Field(ge=0, le=60)] = 0.0
    # A failed message becomes visible again after base × 2^(receives-1) s (capped at 15 min);
    # after the queue's maxReceiveCount receives SQS moves it to the dead-letter queue.
    worker_retry_base_seconds: Annotated[float, Field(ge=0.05, le=300)] = 2.0

    # --- orders ---------------------------------------------------------------------------------
    # The most a single order may be worth; the fulfilment step fails larger ones (with a reason).
    order_fulfilment_limit: Annotated[Decimal, Field(gt=0)] = Decimal("10000.00")

    # --- requests -------------------------------------------------------------------------------
    # The largest request body read (service/core/body_limit.py); the largest real one, an item
    # with a 10,000-character description, is well under 100 KB even with every character escaped.
    max_request_body_bytes: Annotated[int, Field(ge=16 * 1024, le=64 * 1024 * 1024)] = 1024 * 1024

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _worker_can_stop_in_time(self) -> Settings:
        if self.worker_wait_seconds >= self.worker_shutdown_seconds:
            raise ValueError(
                f"WORKER_WAIT_SECONDS ({self.worker_wait_seconds}) must be below "
                f"WORKER_SHUTDOWN_SECONDS ({self.worker_shutdown_seconds}): a stopping worker "
                "waits for its long poll to return"
            )
        return self

    @model_validator(mode="after")
    def _compose_database_url(self) -> Settings:
        if self.db_host:
            if self.db_password is None and self.db_password_secret_arn is None:
                raise ValueError(
                    "DB_HOST is set but neither DB_PASSWORD nor DB_PASSWORD_SECRET_ARN"
                )
            query = {"sslmode": "require"}
            if self.db_password_secret_arn:
                query["password_secret_arn"] = self.db_password_secret_arn
            url = URL.create(
                "postgresql+psycopg",
                username=self.db_user,
                password=None
                if self.db_password_secret_arn or self.db_password is None
                else self.db_password.get_secret_value(),
                host=self.db_host,
                port=self.db_port,
                database=self.db_name,
                query=query,
            )
            object.__setattr__(self, "database_url", url.render_as_string(hide_password=False))
        return self

    @model_validator(mode="after")
    def _refuse_placeholders_outside_local(self) -> Settings:
        if self.environment == "local":
            return self
        secret = self.jwt_secret.get_secret_value()
        if secret == PLACEHOLDER_SECRET or "change" in secret.lower():
            raise ValueError(
                f"JWT_SECRET is a placeholder; set a random secret for {self.environment} "
                '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        if len(secret) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters outside local")
        if self.database_url.startswith("sqlite"):
            raise ValueError(f"DATABASE_URL must point at PostgreSQL in {self.environment}")
        return self

    def missing_api_settings(self) -> str | None:
        """What the API server (not the worker or migrations) still needs outside local."""
        if self.environment != "local" and "trusted_proxies" not in self.model_fields_set:
            return (
                f"TRUSTED_PROXIES is required in {self.environment}: the proxies in front of the "
                "API, comma-separated (on AWS: the VPC range, where the ALB's nodes are, and "
                "CloudFront's origin-facing ranges); without it every caller looks like the ALB"
            )
        return None


class _TopologyEnvironment(PydanticBaseSettingsSource):
    """The topology's topic and queue variables, gathered into `topic_arns`, `queue_urls` and
    `dlq_urls` (they are not field names, so pydantic's environment source passes them over)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # not asked: __call__ answers for every field at once

    def __call__(self) -> dict[str, Any]:
        return {name: found for name, found in TOPOLOGY.endpoints_from(os.environ).items() if found}


@lru_cache
def get_settings() -> Settings:
    return Settings()
