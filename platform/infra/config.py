"""Every stack setting, read once into one typed, validated object: the pydantic `StackConfig`.

Staging and prod differ only through `Pulumi.<stack>.yaml`; nothing in the program branches on the
stack's name. `parse_stack_config` is a pure function over the raw key/value strings so it can be
tested without the Pulumi engine; `load_stack_config` feeds it from the running program's config
(Pulumi's public `pulumi.Config` API).

A wrong setting stops the program before any resource is declared. Every problem found is reported
at once, each naming its key, what was given and what is allowed, so one `pulumi up` shows them all
(the machinery, shared with the bootstrap's settings, is infra/config_model.py). Each field's name
is its key (`<project>:<field>`); its type says what is allowed, written once.

The project's name is the `name:` of Pulumi.yaml, nowhere else: every resource prefix and role
name follows it, and so does Pulumi's namespace for the settings (`pulumi config set api_cpu 512`
writes `<project>:api_cpu`), so renaming the project renames the keys of its stack files too; a
stack file still in another namespace is refused, naming both.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import AfterValidator, BeforeValidator, Field

from infra.config_model import (
    ConfigError,
    ConfigModel,
    Flag,
    ListSetting,
    Range,
    Secret,
    matching,
    read_config,
    rule,
    stack_file_values,
)
from infra.paths import REPO_ROOT

__all__ = [
    "PROJECT",
    "ConfigError",
    "StackConfig",
    "load_stack_config",
    "parse_stack_config",
    "parse_stack_file_without_secrets",
]

# Lower case, digits and `-`, short: the name prefixes AWS names with the strictest rules (S3
# buckets, ECR repositories, `<project>-<stack>-...` load balancers and target groups).
PROJECT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
# Namespaces a stack file may hold besides the project's: the providers the program uses.
PROVIDER_NAMESPACES = ("aws", "docker", "pulumi")


def project_name(project_dir: Path) -> str:
    """The `name:` of the Pulumi project in `project_dir` (its Pulumi.yaml)."""
    path = project_dir / "Pulumi.yaml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the project's name from {path}: {exc}") from exc
    name = document.get("name") if isinstance(document, dict) else None
    if not isinstance(name, str) or not PROJECT_NAME.match(name):
        raise ValueError(
            f"{path}: `name: {name}` must be a lower-case name (a-z, 0-9, -; at most 40 "
            "characters, it prefixes every AWS resource name)"
        )
    return name


def check_database_identifier(project_dir: Path) -> None:
    """Refuse a project whose name would name the database with a word PostgreSQL reserves.

    Called by the program before its first resource (program.build), not at import: the word
    list is SQLAlchemy's PostgreSQL dialect's (PostgreSQL's "SQL Key Words" appendix), and
    importing it costs ~0.4 s that every script and test importing this module would pay.
    """
    from sqlalchemy.dialects.postgresql.base import RESERVED_WORDS

    name = project_name(project_dir)
    identifier = database_identifier(name)
    if identifier in RESERVED_WORDS:
        raise ValueError(
            f"{project_dir / 'Pulumi.yaml'}: `name: {name}` would name the stack's database and "
            f"its user `{identifier}`, a word PostgreSQL reserves (RDS refuses it); choose "
            "another name"
        )


def database_identifier(project: str) -> str:
    """The database's name and its master user's, from the project's name.

    RDS CreateDBInstance, MasterUsername: 1 to 16 letters, numbers or underscores, the first a
    letter, not a word the engine reserves; DBName (PostgreSQL): 1 to 63 of the same
    (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html). One
    identifier serves both, so the stricter rule decides. The demo's `shipyard` is unchanged by
    this (changing either replaces the database).
    """
    return project.replace("-", "_")[:16].rstrip("_")


PROJECT = project_name(REPO_ROOT)
NS = f"{PROJECT}:"


def foreign_namespaces(raw: Mapping[str, str], project: str) -> list[str]:
    """A problem per config namespace that is neither the project's nor a provider's."""
    foreign = sorted(
        {key.split(":", 1)[0] for key in raw if ":" in key} - {project, *PROVIDER_NAMESPACES}
    )
    return [
        f"keys in the namespace `{namespace}:` but Pulumi.yaml names the project `{project}`: "
        f"rename them to `{project}:<key>` (or set `name: {namespace}` in Pulumi.yaml)"
        for namespace in foreign
    ]


Environment = Literal["staging", "production"]
NatMode = Literal["single", "per_az", "none"]
ComputeMode = Literal["fargate", "fargate_spot", "ec2"]
DeploymentStrategy = Literal["rolling", "blue_green"]
AlbOrigin = Literal["vpc_origin", "public"]
ImagePlatform = Literal["linux/amd64", "linux/arm64"]
PriceClass = Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"]

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)  # fmt: skip

# Fargate task sizes: cpu units -> allowed memory (MiB). Source: the ECS developer guide,
# "Task CPU and memory"; anything else is refused by RegisterTaskDefinition.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# ECS stops a container with SIGKILL after stopTimeout; Fargate caps it at 120 s.
MAX_STOP_TIMEOUT_SECONDS = 120
# Native ECS blue/green accepts a bake time of 0-1440 minutes, but `pulumi up` waits for it
# (wait_for_steady_state: a blue/green deployment is steady only once the bake time is over).
MAX_BAKE_MINUTES = 1440
# What the provider waits for a service create/update without the bake: its own default.
SERVICE_ROLLOUT_WAIT_MINUTES = 20
# The deploy job (.github/workflows/deploy-stack.yml `deploy`) is cancelled after 90 minutes, and
# its AWS credentials outlast that (tests/delivery check both): a `pulumi up` still waiting then
# dies while ECS carries on. The services' wait (rollout + bake) must fit, with 30 minutes left
# for the migration, the rest of the update, verification and the smoke test.
DEPLOY_JOB_MINUTES = 90
MAX_SERVICE_WAIT_MINUTES = DEPLOY_JOB_MINUTES - 30
MAX_WAITED_BAKE_MINUTES = MAX_SERVICE_WAIT_MINUTES - SERVICE_ROLLOUT_WAIT_MINUTES
# Zone ids known to lack instance classes this stack uses (AWS maps zone names to ids per
# account, so exclusions go by id). use1-az3: no Graviton/newer families (t4g, m7g, ...).
KNOWN_SHORT_ZONE_IDS: dict[str, tuple[str, ...]] = {"us-east-1": ("use1-az3",)}
ZONE_ID = re.compile(r"^[a-z]{2,5}\d+-az\d+$")

IMAGE_DIGEST_REF = re.compile(
    r"^(?P<registry>(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com)"
    r"/(?P<repository>[a-z0-9][a-z0-9._/-]*)@sha256:(?P<digest>[0-9a-f]{64})$"
)
ECR_REPOSITORY_URL = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
    r"/(?P<repository>[a-z0-9][a-z0-9._/-]*)$"
)
WORKLOAD_BOUNDARY_ARN = re.compile(r"^arn:aws:iam::\d{12}:policy/[A-Za-z0-9+=,.@_/-]+$")
# The bootstrap's settings (bootstrap_config.py) use these two.
GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
GITHUB_ENVIRONMENT = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
E164_NUMBER = re.compile(r"^\+[1-9]\d{1,14}$")
# Docker Hub: <namespace>/<repository>, lower case, separators . _ - between alphanumerics.
DOCKER_HUB_REPOSITORY = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$"
)


EC2_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
DB_ENGINE_VERSION = re.compile(r"^1[4-8](\.\d+)?$")
HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")

# --- database connections (issue 14; issue 22: the deployment peak, the memory RDS really has) ---
# RDS for PostgreSQL's default max_connections is LEAST({DBInstanceClassMemory/9531392}, 5000)
# (RDS User Guide, "Quotas and constraints for Amazon RDS", maximum number of database connections:
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections).
# DBInstanceClassMemory is the instance class's memory less what RDS reserves for the operating
# system and its own processes, "always somewhat lower than the memory figures shown in the
# instance class tables", by an amount AWS does not publish (RDS User Guide, "Specifying DB
# parameters", DB parameter formula variables:
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ParamValuesRef.html). Assumed here:
# the larger of DB_MEMORY_RESERVE_MIB and DB_MEMORY_RESERVE_PERCENT of the class's memory, which
# stays below every published `SHOW max_connections` (tests/platform_program/
# test_connection_peak.py): a db.t4g.micro gives 84, not the nominal 112. The classes this config
# allows and their memory (GiB, AWS's instance class tables):
_DB_SIZE_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32,
                "4xlarge": 64, "8xlarge": 128, "12xlarge": 192, "16xlarge": 256}  # fmt: skip
_BURSTABLE_SIZES = ("micro", "small", "medium", "large", "xlarge", "2xlarge")
_LARGE_SIZES = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
DB_INSTANCE_MEMORY_GIB: dict[str, int] = {
    **{f"db.{f}.{s}": _DB_SIZE_GIB[s] for f in ("t3", "t4g") for s in _BURSTABLE_SIZES},
    # general purpose: 4 GiB per vCPU
    **{f"db.{f}.{s}": _DB_SIZE_GIB[s] for f in ("m5", "m6g", "m6i", "m7g") for s in _LARGE_SIZES},
    # memory optimised: 8 GiB per vCPU
    **{
        f"db.{f}.{s}": 2 * _DB_SIZE_GIB[s]
        for f in ("r5", "r6g", "r6i", "r7g")
        for s in _LARGE_SIZES
    },
}
POSTGRES_BYTES_PER_CONNECTION = 9_531_392
POSTGRES_MAX_CONNECTIONS_CAP = 5000
DB_MEMORY_RESERVE_MIB = 256
DB_MEMORY_RESERVE_PERCENT = 10
# PostgreSQL's superuser_reserved_connections (3) plus RDS's own monitoring sessions.
RESERVED_CONNECTIONS = 5
# Each api server process opens at most its async pool (DB_POOL_SIZE=10 + DB_MAX_OVERFLOW=5) and
# its small sync pool (PASSWORD_HASH_CONCURRENCY=2 + 2: password routes, relay, readiness), the
# service's defaults (service/core/config.py, Settings.api_sync_pool_size). They are written here,
# not imported, because the Pulumi program must not import SQLAlchemy (service/__init__.py);
# tests/platform_program/test_config.py fails when the two disagree.
API_CONNECTIONS_PER_PROCESS = (10 + 5) + (2 + 2)
# A worker task: pool_size = WORKER_CONCURRENCY + 1 with max_overflow 2 (service/messaging/
# worker.py, build_worker), WORKER_CONCURRENCY defaulting to 4 -> 7 (also checked by that test).
WORKER_CONNECTIONS_PER_TASK = 4 + 1 + 2
# The migrate task: pool_size 2, max_overflow 0 (service/cli.py); one runs per deployment.
MIGRATE_CONNECTIONS = 2
# A rolling deployment may run this percentage of the desired count (services.py sets ECS's
# maximumPercent from it): old and new tasks side by side. A blue/green one runs two full sets,
# blue and green, through the bake. Either way a deploy doubles every service's tasks.
DEPLOYMENT_MAXIMUM_PERCENT = 200
BLUE_GREEN_TASK_SETS = 2
ECS_CPU_UNITS_PER_VCPU = 1024


def db_instance_class_memory(memory_gib: float) -> int:
    """DBInstanceClassMemory (bytes) as assumed for a class of `memory_gib` nominal memory."""
    nominal = int(memory_gib * 1024**3)
    reserve = max(DB_MEMORY_RESERVE_MIB * 1024**2, nominal * DB_MEMORY_RESERVE_PERCENT // 100)
    return nominal - reserve


def postgres_max_connections(memory_gib: float) -> int:
    """RDS for PostgreSQL's default max_connections for a class of `memory_gib` nominal memory."""
    return min(
        db_instance_class_memory(memory_gib) // POSTGRES_BYTES_PER_CONNECTION,
        POSTGRES_MAX_CONNECTIONS_CAP,
    )


def db_max_connections(instance_class: str) -> int:
    """RDS for PostgreSQL's default max_connections for an instance class of the table above."""
    return postgres_max_connections(DB_INSTANCE_MEMORY_GIB[instance_class])


@dataclass(frozen=True)
class ImageRef:
    """A digest reference to an image in ECR: the only form a task definition may use."""

    reference: str
    account: str
    region: str
    repository: str
    digest: str

    @property
    def repository_arn(self) -> str:
        return f"arn:aws:ecr:{self.region}:{self.account}:repository/{self.repository}"


@dataclass(frozen=True)
class ImageRepository:
    """The bootstrap's shared ECR repository, as its URL (the output `image_repository_url`)."""

    url: str
    account: str
    region: str
    name: str

    @property
    def arn(self) -> str:
        return f"arn:aws:ecr:{self.region}:{self.account}:repository/{self.name}"


@dataclass(frozen=True)
class ServiceSizing:
    cpu: int  # ECS cpu units (1024 = 1 vCPU)
    memory: int  # MiB
    min_tasks: int
    max_tasks: int


# --- value forms: each validator gets the value and says what is wrong with it --------------------
# (the key and the given value are added by infra/config_model.py, except for secrets)


def _cidr(value: Any) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"is not an IPv4 CIDR block ({error}); use e.g. 10.20.0.0/16") from None
    if not network.is_private:
        raise ValueError("is not a private (RFC 1918) range; use e.g. 10.20.0.0/16")
    if not 16 <= network.prefixlen <= 20:
        raise ValueError(
            f"has prefix /{network.prefixlen}; use /16 to /20 so that six subnets of /24 or "
            "larger fit"
        )
    return network


def _image_ref(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = IMAGE_DIGEST_REF.match(value)
    if match is None:
        raise ValueError(
            "is not an ECR digest reference; use "
            "<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<64 hex digits> "
            "(a tag can move; a digest names exactly one image), or unset it to build the image"
        )
    return ImageRef(
        reference=value,
        account=match["account"],
        region=match["region"],
        repository=match["repository"],
        digest=match["digest"],
    )


def _image_repository(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = ECR_REPOSITORY_URL.match(value)
    if match is None:
        raise ValueError(
            "is not an ECR repository URL; use the bootstrap's output `image_repository_url` "
            "(<account>.dkr.ecr.<region>.amazonaws.com/<name>)"
        )
    return ImageRepository(
        url=value, account=match["account"], region=match["region"], name=match["repository"]
    )


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise ValueError(f"is not a CloudWatch retention period; use one of {allowed}")
    return value


def _db_instance_class(value: str) -> str:
    if value not in DB_INSTANCE_MEMORY_GIB:
        raise ValueError(
            "is not an RDS instance class this stack knows the connection limit of; use one of: "
            + ", ".join(DB_INSTANCE_MEMORY_GIB)
        )
    return value


def _zone_id(value: str) -> str:
    if not ZONE_ID.match(value):
        raise ValueError(
            "is not an availability zone id; use ids such as use1-az3 "
            "(`aws ec2 describe-availability-zones` shows ZoneId next to each ZoneName)"
        )
    return value


def _e164(value: str) -> str:
    if not E164_NUMBER.match(value):
        raise ValueError(
            "is not an E.164 phone number; use + country code and number, digits only, "
            "e.g. +14155550100"
        )
    return value


# The three below are secret config: their messages never show the value.
def _dockerhub_username(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]{4,30}", value):
        raise ValueError("is not a Docker Hub user name (4-30 characters a-z, 0-9)")
    return value


def _token(value: str) -> str:
    if len(value) < 8 or any(c.isspace() for c in value):
        raise ValueError("does not look like an access token (8+ characters, no spaces)")
    return value


SECRET_MIN_LENGTH = 32


def _random_secret(value: str) -> str:
    if len(value) < SECRET_MIN_LENGTH or "change" in value.lower():
        raise ValueError(
            f"must be a random secret of at least {SECRET_MIN_LENGTH} characters (pulumi config "
            "set --secret <key> "
            "\"$(python -c 'import secrets; print(secrets.token_urlsafe(48))')\")"
        )
    return value


# The public ALB's rule matches CloudFront's secret header with this value as a pattern: `*` and `?`
# are wildcards there, the comparison ignores case, and a value is at most 128 characters (ELB API
# reference, HttpHeaderConditionConfig, Values:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HttpHeaderConditionConfig.html).
# A wildcard would let other header values through, so the secret must be literal.
ALB_HEADER_VALUE_MAX = 128


def _header_match_secret(value: str) -> str:
    if "*" in value or "?" in value or len(value) > ALB_HEADER_VALUE_MAX:
        raise ValueError(
            f"is matched by the load balancer as a pattern: at most {ALB_HEADER_VALUE_MAX} "
            "characters, without * or ? (wildcards there); python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))' gives one"
        )
    return value


Email = Annotated[str, matching(EMAIL, "an e-mail address")]
RandomSecret = Annotated[str, Secret(), AfterValidator(_random_secret)]
ZoneId = Annotated[str, AfterValidator(_zone_id)]
PhoneNumber = Annotated[str, AfterValidator(_e164)]


# --- the model -----------------------------------------------------------------------------------


class StackConfig(ConfigModel):
    """The app stack's settings. Sane, cheap defaults describe a staging-like stack; production
    choices are explicit (the rules below refuse the cheap ones there)."""

    NAMESPACE: ClassVar[str] = NS
    KEYS: ClassVar[Mapping[str, str]] = {"region": "aws:region"}

    stack: str
    environment: Environment = Field(description="staging or production")
    region: Annotated[str, matching(AWS_REGION, "an AWS region such as us-east-1")] = Field(
        description="e.g. us-east-1"
    )
    # image
    image_ref: Annotated[ImageRef | None, BeforeValidator(_image_ref)] = None
    image_platform: ImagePlatform = "linux/amd64"
    # network
    vpc_cidr: Annotated[ipaddress.IPv4Network, BeforeValidator(_cidr)] = Field(
        description="a private IPv4 CIDR block such as 10.20.0.0/16"
    )
    availability_zones: Annotated[int, Range(2, 3)] = 2
    nat_gateways: NatMode = "single"
    # Default: the region's zones known to lack instance classes (derived_defaults).
    excluded_zone_ids: Annotated[tuple[ZoneId, ...], ListSetting()] = ()
    # compute
    compute_mode: ComputeMode = "fargate"
    fargate_on_demand_base: Annotated[int, Range(0, 100)] = 1
    fargate_spot_weight: Annotated[int, Range(1, 10)] = 3
    ec2_instance_type: Annotated[
        str, matching(EC2_INSTANCE_TYPE, "an EC2 instance type such as t3.medium")
    ] = "t3.medium"
    ec2_min_instances: Annotated[int, Range(0, 100)] = 1
    ec2_max_instances: Annotated[int, Range(1, 100)] = 4
    ec2_target_capacity_percent: Annotated[int, Range(1, 100)] = 90
    # services (the `api` and `worker` properties group them)
    api_cpu: Annotated[int, Range(256, 16384)] = 512  # ECS cpu units (1024 = 1 vCPU)
    api_memory: Annotated[int, Range(512, 122880)] = 1024  # MiB
    api_min_tasks: Annotated[int, Range(1, 100)] = 1
    api_max_tasks: Annotated[int, Range(1, 200)] = 3
    # uvicorn processes per api task (WEB_CONCURRENCY); unset: one per vCPU (api_processes).
    api_processes_per_task: Annotated[int | None, Range(1, 16)] = None
    worker_cpu: Annotated[int, Range(256, 16384)] = 256
    worker_memory: Annotated[int, Range(512, 122880)] = 512
    worker_min_tasks: Annotated[int, Range(1, 100)] = 1
    # With the default api (3 tasks) and database (db.t4g.small), a fourth worker would pass
    # the instance's connection limit during a deploy (see _db_connections).
    worker_max_tasks: Annotated[int, Range(1, 200)] = 3
    api_cpu_target_percent: Annotated[int, Range(10, 90)] = 60
    api_requests_per_task_target: Annotated[int, Range(10, 100_000)] = 1000
    worker_backlog_per_task_target: Annotated[int, Range(1, 10_000)] = 20
    deployment_strategy: DeploymentStrategy = "rolling"
    blue_green_bake_minutes: Annotated[int, Range(0, MAX_BAKE_MINUTES)] = 5
    health_check_grace_period_seconds: Annotated[int, Range(0, 600)] = 60
    deregistration_delay_seconds: Annotated[int, Range(5, 300)] = 20
    stop_timeout_seconds: Annotated[int, Range(2, MAX_STOP_TIMEOUT_SECONDS)] = 30
    graceful_shutdown_seconds: Annotated[int, Range(1, 110)] = 20
    # Above the worker's 10 s long poll: a stopping worker waits for its poll to return.
    worker_shutdown_seconds: Annotated[int, Range(11, 110)] = 20
    # database
    db_instance_class: Annotated[str, AfterValidator(_db_instance_class)] = "db.t4g.small"
    db_engine_version: Annotated[
        str, matching(DB_ENGINE_VERSION, "a PostgreSQL major (14-18) or major.minor version")
    ] = "16"
    db_allocated_storage_gb: Annotated[int, Range(20, 65536)] = 20
    db_max_allocated_storage_gb: Annotated[int, Range(20, 65536)] = 100
    db_multi_az: Flag = False
    db_deletion_protection: Flag = False
    db_backup_retention_days: Annotated[int, Range(1, 35)] = 7
    # Pulumi `protect` on every stateful resource (infra/stateful.py); required in production
    protect_stateful: Flag = False
    # edge
    alb_origin: AlbOrigin = "vpc_origin"
    domain_name: Annotated[
        str | None, matching(DOMAIN_NAME, "a lower-case DNS name such as app.example.com")
    ] = None
    hosted_zone_id: Annotated[str | None, matching(HOSTED_ZONE_ID, "a Route 53 zone id")] = None
    price_class: PriceClass = "PriceClass_100"
    # observability
    log_retention_days: Annotated[int, Range(1, 3653), AfterValidator(_log_retention)] = 30
    alarm_email: Email | None = None
    alarm_5xx_per_minute: Annotated[int, Range(1, 100_000)] = 5
    alarm_p95_latency_ms: Annotated[int, Range(10, 60_000)] = 1000
    alarm_oldest_message_seconds: Annotated[int, Range(10, 1_209_600)] = 300
    # secrets (Pulumi secret config; wrapped into pulumi.Output.secret by the program)
    jwt_secret: RandomSecret = Field(
        description="set it with `pulumi config set --secret jwt_secret <random>`"
    )
    origin_verify_secret: Annotated[
        str | None, Secret(), AfterValidator(_random_secret), AfterValidator(_header_match_secret)
    ] = None
    # operator alerts (the order-alerts function and its topic's e-mail/SMS subscribers)
    alert_emails: Annotated[tuple[Email, ...], ListSetting()] = ()
    alert_sms_numbers: Annotated[tuple[PhoneNumber, ...], ListSetting()] = ()
    alerts_reserved_concurrency: Annotated[int | None, Range(1, 1000)] = None  # None: shared pool
    # Docker Hub: also push the service image there (ECR stays what ECS pulls from)
    dockerhub_repository: Annotated[
        str | None,
        matching(DOCKER_HUB_REPOSITORY, "a Docker Hub repository as namespace/name (lower case)"),
    ] = None
    dockerhub_username: Annotated[str | None, Secret(), AfterValidator(_dockerhub_username)] = None
    # an access token, not the password
    dockerhub_token: Annotated[str | None, Secret(), AfterValidator(_token)] = None
    # From the bootstrap (docs/getting-started-on-aws.md): the shared image repository every
    # stack pulls from, and the permissions boundary every role this stack creates must carry.
    image_repository: Annotated[ImageRepository, BeforeValidator(_image_repository)] = Field(
        description="the bootstrap's output image_repository_url (the shared ECR repository)"
    )
    workload_boundary_arn: Annotated[str, matching(WORKLOAD_BOUNDARY_ARN, "an IAM policy ARN")] = (
        Field(
            description=(
                "the bootstrap's output workload_boundary_arn "
                "(CI may only create roles that carry it)"
            )
        )
    )

    @classmethod
    def derived_defaults(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        region = data.get("region")
        return {"excluded_zone_ids": KNOWN_SHORT_ZONE_IDS.get(str(region), ())}

    # --- derived -----------------------------------------------------------------------------

    @property
    def prefix(self) -> str:
        """Prefix of every physical name, so two stacks can share one AWS account."""
        return f"{PROJECT}-{self.stack}"

    @property
    def cpu_architecture(self) -> Literal["X86_64", "ARM64"]:
        return "ARM64" if self.image_platform == "linux/arm64" else "X86_64"

    @property
    def uses_fargate(self) -> bool:
        return self.compute_mode in ("fargate", "fargate_spot")

    @property
    def origin_secret(self) -> str:
        """origin_verify_secret where the public ALB needs it (a rule below makes it required)."""
        if self.origin_verify_secret is None:
            raise ValueError(f"{NS}origin_verify_secret is not set")
        return self.origin_verify_secret

    @property
    def api(self) -> ServiceSizing:
        return ServiceSizing(self.api_cpu, self.api_memory, self.api_min_tasks, self.api_max_tasks)

    @property
    def worker(self) -> ServiceSizing:
        return ServiceSizing(
            self.worker_cpu, self.worker_memory, self.worker_min_tasks, self.worker_max_tasks
        )

    @property
    def api_processes(self) -> int:
        """uvicorn processes per api task (WEB_CONCURRENCY): the setting, else one per vCPU.

        One process per vCPU because one process uses at most one core (the GIL) and issue 14's
        measurement on a 2-core machine found one process serving best (tools/bench/RESULTS.md).
        """
        if self.api_processes_per_task is not None:
            return self.api_processes_per_task
        return max(1, self.api_cpu // ECS_CPU_UNITS_PER_VCPU)

    @property
    def api_tasks_at_peak(self) -> int:
        """api tasks running at once when a deploy starts at full scale (api_max_tasks)."""
        if self.deployment_strategy == "blue_green":
            return self.api_max_tasks * BLUE_GREEN_TASK_SETS
        return self.api_max_tasks * DEPLOYMENT_MAXIMUM_PERCENT // 100

    @property
    def worker_tasks_at_peak(self) -> int:
        """worker tasks at once during a deploy at full scale (the worker always rolls)."""
        return self.worker_max_tasks * DEPLOYMENT_MAXIMUM_PERCENT // 100

    @property
    def db_connections_at_peak(self) -> int:
        """Connections this stack's tasks may open at once: during a deploy, all scaled out."""
        return (
            self.api_tasks_at_peak * self.api_processes * API_CONNECTIONS_PER_PROCESS
            + self.worker_tasks_at_peak * WORKER_CONNECTIONS_PER_TASK
            + MIGRATE_CONNECTIONS
        )

    # --- rules across settings: each names the keys involved ---------------------------------

    @rule
    def _production_is_redundant_and_protected(self) -> Iterator[str]:
        if self.environment != "production":
            return
        for role, sizing in (("api", self.api), ("worker", self.worker)):
            if sizing.min_tasks < 2:
                yield (
                    f"{NS}{role}_min_tasks={sizing.min_tasks}: production needs at least 2 tasks "
                    "so that one AZ or one task failing leaves the service up"
                )
        if not self.db_multi_az:
            yield f"{NS}db_multi_az must be true in production (a standby in a second AZ)"
        if not self.db_deletion_protection:
            yield f"{NS}db_deletion_protection must be true in production"
        if not self.protect_stateful:
            yield (
                f"{NS}protect_stateful must be true in production: a `pulumi up` must not be "
                "able to delete the database, queues or buckets without an explicit unprotect"
            )

    @rule
    def _task_counts_and_sizes(self) -> Iterator[str]:
        for role, sizing in (("api", self.api), ("worker", self.worker)):
            if sizing.max_tasks < sizing.min_tasks:
                yield (
                    f"{NS}{role}_max_tasks={sizing.max_tasks} is below "
                    f"{NS}{role}_min_tasks={sizing.min_tasks}"
                )
            if not self.uses_fargate:
                continue
            allowed = FARGATE_SIZES.get(sizing.cpu)
            if allowed is None:
                yield (
                    f"{NS}{role}_cpu={sizing.cpu} is not a Fargate size; use one of "
                    f"{', '.join(map(str, FARGATE_SIZES))}"
                )
            elif sizing.memory not in allowed:
                step = allowed[1] - allowed[0] if len(allowed) > 1 else allowed[0]
                yield (
                    f"{NS}{role}_memory={sizing.memory} does not fit {NS}{role}_cpu={sizing.cpu} "
                    f"on Fargate; use {allowed[0]}..{allowed[-1]} in steps of {step}"
                )

    @rule
    def _api_drain_fits_stop_timeout(self) -> Iterator[str]:
        yield from self._below_stop_timeout("graceful_shutdown_seconds")

    @rule
    def _worker_drain_fits_stop_timeout(self) -> Iterator[str]:
        yield from self._below_stop_timeout("worker_shutdown_seconds")

    def _below_stop_timeout(self, field: str) -> Iterator[str]:
        value, stop = getattr(self, field), self.stop_timeout_seconds
        if value >= stop:
            yield (
                f"{NS}{field}={value} must be below {NS}stop_timeout_seconds={stop}: "
                "ECS kills the container (SIGKILL) at stopTimeout, cutting the drain short"
            )

    @rule
    def _ec2_instances(self) -> Iterator[str]:
        if self.ec2_max_instances < self.ec2_min_instances:
            yield (
                f"{NS}ec2_max_instances={self.ec2_max_instances} is below "
                f"{NS}ec2_min_instances={self.ec2_min_instances}"
            )

    @rule
    def _db_storage(self) -> Iterator[str]:
        if self.db_max_allocated_storage_gb < self.db_allocated_storage_gb:
            yield (
                f"{NS}db_max_allocated_storage_gb={self.db_max_allocated_storage_gb} is below "
                f"{NS}db_allocated_storage_gb={self.db_allocated_storage_gb}"
            )

    @rule
    def _db_connections(self) -> Iterator[str]:
        max_connections = db_max_connections(self.db_instance_class)
        limit = max_connections - RESERVED_CONNECTIONS
        needed = self.db_connections_at_peak
        if needed <= limit:
            return
        api_surge = (
            f"x {BLUE_GREEN_TASK_SETS}: blue and green both run through the bake"
            if self.deployment_strategy == "blue_green"
            else f"at {DEPLOYMENT_MAXIMUM_PERCENT} % while old and new tasks overlap"
        )
        memory = DB_INSTANCE_MEMORY_GIB[self.db_instance_class]
        yield (
            f"during a deploy at full scale ({NS}deployment_strategy={self.deployment_strategy}) "
            f"{self.api_tasks_at_peak} api tasks ({NS}api_max_tasks={self.api_max_tasks} "
            f"{api_surge}) x {NS}api_processes_per_task={self.api_processes} x "
            f"{API_CONNECTIONS_PER_PROCESS} connections per process + "
            f"{self.worker_tasks_at_peak} worker tasks ({NS}worker_max_tasks="
            f"{self.worker_max_tasks} at {DEPLOYMENT_MAXIMUM_PERCENT} % while rolling) x "
            f"{WORKER_CONNECTIONS_PER_TASK} + {MIGRATE_CONNECTIONS} (migrate) = {needed} database "
            f"connections, above the {limit} that {NS}db_instance_class={self.db_instance_class} "
            f"accepts (max_connections about {max_connections}: RDS's "
            f"LEAST(DBInstanceClassMemory/{POSTGRES_BYTES_PER_CONNECTION}, "
            f"{POSTGRES_MAX_CONNECTIONS_CAP}) with DBInstanceClassMemory below the nominal "
            f"{memory} GiB; {RESERVED_CONNECTIONS} kept for RDS); lower the max tasks or "
            "processes, or use a larger instance class"
        )

    @rule
    def _domain_and_zone_together(self) -> Iterator[str]:
        if (self.domain_name is None) != (self.hosted_zone_id is None):
            yield (
                f"{NS}domain_name and {NS}hosted_zone_id go together: the certificate is "
                "validated and the alias record created in that Route 53 zone"
            )

    @rule
    def _bake_fits_the_deploy_job(self) -> Iterator[str]:
        bake = self.blue_green_bake_minutes
        if self.deployment_strategy == "blue_green" and bake > MAX_WAITED_BAKE_MINUTES:
            yield (
                f"{NS}blue_green_bake_minutes={bake}: `pulumi up` waits for the bake time, and "
                f"the deploy job stops after {DEPLOY_JOB_MINUTES} min; use at most "
                f"{MAX_WAITED_BAKE_MINUTES} (a rollout may take {SERVICE_ROLLOUT_WAIT_MINUTES} "
                "min before it)"
            )

    @rule
    def _public_alb_needs_domain(self) -> Iterator[str]:
        if self.alb_origin == "public" and self.domain_name is None:
            yield (
                f"{NS}alb_origin=public needs {NS}domain_name and {NS}hosted_zone_id: CloudFront "
                "sends the secret origin header over HTTPS only, which needs a certificate for a "
                "name of yours on the ALB (or use alb_origin=vpc_origin, no public ALB at all)"
            )

    @rule
    def _public_alb_needs_origin_secret(self) -> Iterator[str]:
        if self.alb_origin == "public" and self.origin_verify_secret is None:
            yield (
                f"{NS}origin_verify_secret is required when {NS}alb_origin=public: the ALB "
                "refuses requests without this CloudFront header (set it with --secret)"
            )

    @rule
    def _image_from_the_shared_repository(self) -> Iterator[str]:
        ref, repository = self.image_ref, self.image_repository
        if ref is not None and ref.reference.split("@", 1)[0] != repository.url:
            yield (
                f"{NS}image_ref={ref.reference} is not in {NS}image_repository="
                f"{repository.url}: every stack deploys images from the one shared repository "
                "(build once, promote the digest)"
            )

    @rule
    def _image_in_the_stack_region(self) -> Iterator[str]:
        if self.image_ref is not None and self.image_ref.region != self.region:
            yield (
                f"{NS}image_ref is in region {self.image_ref.region} but the stack deploys to "
                f"{self.region}; ECS pulls from the stack's region (replicate the image first)"
            )

    @rule
    def _dockerhub_settings_together(self) -> Iterator[str]:
        credentials = self.dockerhub_username and self.dockerhub_token
        if self.dockerhub_repository and not credentials:
            yield (
                f"{NS}dockerhub_repository={self.dockerhub_repository} needs "
                f"{NS}dockerhub_username and {NS}dockerhub_token (an access token with write "
                "access to it), both set with `pulumi config set --secret`"
            )
        if not self.dockerhub_repository and (self.dockerhub_username or self.dockerhub_token):
            yield (
                f"{NS}dockerhub_username/{NS}dockerhub_token are set but {NS}dockerhub_repository "
                "is not: nothing would be pushed; set the repository or remove the credentials"
            )


# --- reading -------------------------------------------------------------------------------------


def parse_stack_config(raw: Mapping[str, str], stack: str) -> StackConfig:
    """Build the validated settings from raw config strings (`<project>:<key>`, `aws:region`)."""
    _refuse_foreign_namespaces(raw, stack)
    return read_config(StackConfig, raw, stack)


def _refuse_foreign_namespaces(raw: Mapping[str, str], stack: str) -> None:
    problems = foreign_namespaces(raw, PROJECT)
    if problems:
        raise ConfigError(stack, problems)


def parse_stack_file_without_secrets(config: Mapping[str, Any], stack: str) -> StackConfig:
    """The rehearsal's view of a stack: its stack file's `config:` mapping, read without the engine.

    Validated by the same model and rules as the program; the secrets, which live encrypted in
    the stack file or outside it, are not read: they stay unset (reading one raises
    AttributeError) and the rules that need them are skipped. The program itself never uses this.
    """
    raw, encrypted = stack_file_values(config)
    _refuse_foreign_namespaces(raw, stack)
    return read_config(StackConfig, raw, stack, with_secrets=False, encrypted=encrypted)


def load_stack_config() -> StackConfig:
    """The running program's settings, read through `pulumi.Config` (infra.config_model)."""
    import pulumi
    from pulumi.runtime.config import get_config_env

    from infra.config_model import raw_config_from_pulumi

    # Every key the engine passes (the known ones are read through pulumi.Config below).
    _refuse_foreign_namespaces(get_config_env(), pulumi.get_stack())
    return parse_stack_config(raw_config_from_pulumi(StackConfig), pulumi.get_stack())
