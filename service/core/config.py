"""All service settings, read once from the environment (pydantic-settings).

Local runs work with no environment at all (SQLite file, emulator-less defaults); outside `local`
the placeholders are refused so a misconfigured deployment fails at start, not at the first login.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL

PLACEHOLDER_SECRET = "local-development-secret-change-me-0123456789"  # noqa: S105 - refused outside local


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    environment: Literal["local", "staging", "production"] = "local"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

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
    db_pool_size: Annotated[int, Field(ge=1, le=100)] = 10
    db_max_overflow: Annotated[int, Field(ge=0, le=100)] = 10

    # --- tokens ---------------------------------------------------------------------------------
    jwt_secret: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    jwt_issuer: str = "shipyard"
    jwt_audience: str = "shipyard-api"
    access_token_minutes: Annotated[int, Field(ge=1, le=60)] = 15
    refresh_token_days: Annotated[int, Field(ge=1, le=90)] = 14

    # --- login throttle: after N failures inside the window, the account is refused for the window.
    login_max_failures: Annotated[int, Field(ge=1, le=100)] = 5
    login_failure_window_seconds: Annotated[int, Field(ge=1, le=86_400)] = 300

    # --- HTTP -----------------------------------------------------------------------------------
    cors_origins: Annotated[list[str], NoDecode] = []
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65_535)] = 8000
    # Must exceed the ALB idle timeout (60 s), or the ALB reuses a socket we just closed: a 502.
    keepalive_seconds: Annotated[int, Field(ge=61, le=4000)] = 75
    # Cap on finishing in-flight requests after SIGTERM; must stay below ECS's stopTimeout (30 s).
    graceful_shutdown_seconds: Annotated[int, Field(ge=1, le=110)] = 20
    # Seconds /readyz reports 503 before the server stops accepting: lets a proxy see the drain.
    drain_notice_seconds: Annotated[float, Field(ge=0, le=60)] = 0
    web_root: str | None = None  # a folder of static files to serve at / (make dev serves web/)

    # --- AWS messaging (see service/messaging/topology.py) ---------------------------------------
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None  # the local emulator; unset on AWS
    orders_topic_arn: str | None = None
    order_events_topic_arn: str | None = None
    order_processing_queue_url: str | None = None
    order_notifications_queue_url: str | None = None
    # Dead-letter queues: read only by operators, tests and `make dev`'s messages.
    order_processing_dlq_url: str | None = None
    order_notifications_dlq_url: str | None = None

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

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
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


@lru_cache
def get_settings() -> Settings:
    return Settings()
