"""Every stack setting, read once into one typed, validated object.

Staging and prod differ only through `Pulumi.<stack>.yaml`; nothing in the program branches on the
stack's name. `parse_stack_config` is a pure function over the raw key/value strings so it can be
tested without the Pulumi engine; `load_stack_config` feeds it from the running program's config.

A wrong setting stops the program before any resource is declared. Every problem found is reported
at once, each naming its key, what was given and what is allowed, so one `pulumi up` shows them all.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

PROJECT = "shipyard"
NS = f"{PROJECT}:"

Environment = Literal["staging", "production"]
NatMode = Literal["single", "per_az", "none"]
ComputeMode = Literal["fargate", "fargate_spot", "ec2"]
DeploymentStrategy = Literal["rolling", "blue_green"]
AlbOrigin = Literal["vpc_origin", "public"]
ImagePlatform = Literal["linux/amd64", "linux/arm64"]

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
GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
GITHUB_ENVIRONMENT = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
E164_NUMBER = re.compile(r"^\+[1-9]\d{1,14}$")
# Docker Hub: <namespace>/<repository>, lower case, separators . _ - between alphanumerics.
DOCKER_HUB_REPOSITORY = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$"
)


class ConfigError(ValueError):
    """One or more stack settings are missing or wrong; the message lists each."""

    def __init__(self, stack: str, problems: list[str], project_dir: str = ".") -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        stack_file = f"{project_dir}/Pulumi.{stack}.yaml".removeprefix("./")
        super().__init__(
            f"stack '{stack}' has {len(problems)} configuration problem(s); nothing was deployed:\n"
            f"{lines}\n"
            f"Fix them in {stack_file} or with `pulumi config set --stack {stack} <key> "
            "<value>` (see platform/README.md for every setting)."
        )


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


@dataclass(frozen=True)
class StackConfig:
    stack: str
    environment: Environment
    region: str
    # identity
    github_repository: str
    github_environment: str
    github_oidc_provider_arn: str | None
    # image
    image_ref: ImageRef | None
    image_platform: ImagePlatform
    # network
    vpc_cidr: ipaddress.IPv4Network
    availability_zones: int
    nat_gateways: NatMode
    excluded_zone_ids: tuple[str, ...]
    # compute
    compute_mode: ComputeMode
    fargate_on_demand_base: int
    fargate_spot_weight: int
    ec2_instance_type: str
    ec2_min_instances: int
    ec2_max_instances: int
    ec2_target_capacity_percent: int
    # services
    api: ServiceSizing
    worker: ServiceSizing
    api_cpu_target_percent: int
    api_requests_per_task_target: int
    worker_backlog_per_task_target: int
    deployment_strategy: DeploymentStrategy
    blue_green_bake_minutes: int
    health_check_grace_period_seconds: int
    deregistration_delay_seconds: int
    stop_timeout_seconds: int
    graceful_shutdown_seconds: int
    worker_shutdown_seconds: int
    # database
    db_instance_class: str
    db_engine_version: str
    db_allocated_storage_gb: int
    db_max_allocated_storage_gb: int
    db_multi_az: bool
    db_deletion_protection: bool
    db_backup_retention_days: int
    # Pulumi `protect` on every stateful resource (infra/stateful.py); required in production
    protect_stateful: bool
    # edge
    alb_origin: AlbOrigin
    domain_name: str | None
    hosted_zone_id: str | None
    price_class: str
    # observability
    log_retention_days: int
    alarm_email: str | None
    alarm_5xx_per_minute: int
    alarm_p95_latency_ms: int
    alarm_oldest_message_seconds: int
    # secrets (Pulumi secret config; wrapped into pulumi.Output.secret by the program)
    jwt_secret: str
    origin_verify_secret: str | None
    # operator alerts (the order-alerts function and its topic's e-mail/SMS subscribers)
    alert_emails: tuple[str, ...] = ()
    alert_sms_numbers: tuple[str, ...] = ()
    alerts_reserved_concurrency: int | None = None  # None: draw from the account's pool
    # Docker Hub: also push the service image there (ECR stays what ECS pulls from)
    dockerhub_repository: str | None = None
    dockerhub_username: str | None = None  # secret config
    dockerhub_token: str | None = None  # secret config (an access token, not the password)
    # From the bootstrap (docs/getting-started-on-aws.md): the shared image repository every
    # stack pulls from, and the permissions boundary every role this stack creates must carry.
    image_repository: ImageRepository | None = None
    workload_boundary_arn: str | None = None

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


# --- the settings and their parsers ------------------------------------------------------------

T = TypeVar("T")
Parser = Callable[[str], Any]


class _Reader:
    """Reads `shipyard:*` keys, recording every problem instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, str], namespace: str = NS) -> None:
        self.raw = raw
        self.namespace = namespace
        self.problems: list[str] = []
        self.known: set[str] = set()

    def get(self, key: str, parse: Callable[[str, str], T], default: T | None = None) -> T | None:
        full = key if ":" in key else self.namespace + key
        self.known.add(full)
        value = self.raw.get(full)
        if value is None or value == "":
            return default
        try:
            return parse(full, value)
        except ValueError as error:
            self.problems.append(str(error))
            return default

    def require(self, key: str, parse: Callable[[str, str], T], hint: str) -> T | None:
        full = key if ":" in key else self.namespace + key
        if self.raw.get(full) in (None, ""):
            self.known.add(full)
            self.problems.append(f"{full} is required: {hint}")
            return None
        return self.get(key, parse)

    def unknown_keys(self) -> list[str]:
        return sorted(k for k in self.raw if k.startswith(self.namespace) and k not in self.known)


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(key: str, value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{key}={value!r} is not allowed; use one of: {', '.join(allowed)}")
        return value

    return parse


def _int_range(low: int, high: int) -> Callable[[str, str], int]:
    def parse(key: str, value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{key}={value!r} is not a whole number; use {low}..{high}") from None
        if not low <= number <= high:
            raise ValueError(f"{key}={number} is out of range; allowed: {low}..{high}")
        return number

    return parse


def _bool(key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(f"{key}={value!r} is not a boolean; use true or false")


def _text(pattern: re.Pattern[str], what: str) -> Callable[[str, str], str]:
    def parse(key: str, value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{key}={value!r} is not {what}")
        return value

    return parse


def _cidr(key: str, value: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(
            f"{key}={value!r} is not an IPv4 CIDR block ({error}); use e.g. 10.20.0.0/16"
        ) from None
    if not network.is_private:
        raise ValueError(f"{key}={value} is not a private (RFC 1918) range; use e.g. 10.20.0.0/16")
    if not 16 <= network.prefixlen <= 20:
        raise ValueError(
            f"{key}={value} has prefix /{network.prefixlen}; use /16 to /20 so that six "
            "subnets of /24 or larger fit"
        )
    return network


def _image_ref(key: str, value: str) -> ImageRef:
    match = IMAGE_DIGEST_REF.match(value)
    if match is None:
        raise ValueError(
            f"{key}={value!r} is not an ECR digest reference; use "
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


def _image_repository(key: str, value: str) -> ImageRepository:
    match = ECR_REPOSITORY_URL.match(value)
    if match is None:
        raise ValueError(
            f"{key}={value!r} is not an ECR repository URL; use the bootstrap's output "
            "`image_repository_url` (<account>.dkr.ecr.<region>.amazonaws.com/<name>)"
        )
    return ImageRepository(
        url=value, account=match["account"], region=match["region"], name=match["repository"]
    )


def _log_retention(key: str, value: str) -> int:
    number = _int_range(1, 3653)(key, value)
    if number not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise ValueError(
            f"{key}={number} is not a CloudWatch retention period; use one of {allowed}"
        )
    return number


def _email(key: str, value: str) -> str:
    if not re.match(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$", value):
        raise ValueError(f"{key}={value!r} is not an e-mail address")
    return value


def _list_of(item: Callable[[str, str], str]) -> Callable[[str, str], tuple[str, ...]]:
    """A list setting: a YAML list in the stack file (the engine hands it over as JSON), or one
    comma-separated string from `pulumi config set`. Each item is checked; duplicates refused."""

    def parse(key: str, value: str) -> tuple[str, ...]:
        if value.lstrip().startswith("["):
            try:
                items = json.loads(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"{key} is not a valid list ({error})") from None
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ValueError(f"{key} must be a list of strings")
        else:
            items = value.split(",")
        cleaned = [i.strip() for i in items if i.strip()]
        problems: list[str] = []
        for entry in cleaned:
            try:
                item(key, entry)
            except ValueError as error:
                problems.append(str(error))
        repeated = sorted({i for i in cleaned if cleaned.count(i) > 1})
        if repeated:
            problems.append(f"{key} lists {', '.join(repeated)} more than once")
        if problems:
            raise ValueError("; ".join(problems))
        return tuple(cleaned)

    return parse


def _zone_id(key: str, value: str) -> str:
    if not ZONE_ID.match(value):
        raise ValueError(
            f"{key}: {value!r} is not an availability zone id; use ids such as use1-az3 "
            "(`aws ec2 describe-availability-zones` shows ZoneId next to each ZoneName)"
        )
    return value


def _e164(key: str, value: str) -> str:
    if not E164_NUMBER.match(value):
        raise ValueError(
            f"{key}: {value!r} is not an E.164 phone number; use + country code and number, "
            "digits only, e.g. +14155550100"
        )
    return value


# The two parsers below never echo the value: both settings are secret config.
def _dockerhub_username(key: str, value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]{4,30}", value):
        raise ValueError(f"{key} is not a Docker Hub user name (4-30 characters a-z, 0-9)")
    return value


def _token(key: str, value: str) -> str:
    if len(value) < 8 or any(c.isspace() for c in value):
        raise ValueError(f"{key} does not look like an access token (8+ characters, no spaces)")
    return value


def _secret(minimum: int) -> Callable[[str, str], str]:
    def parse(key: str, value: str) -> str:
        if len(value) < minimum or "change" in value.lower():
            raise ValueError(
                f"{key} must be a random secret of at least {minimum} characters "
                f"(pulumi config set --secret {key.split(':', 1)[1]} "
                "\"$(python -c 'import secrets; print(secrets.token_urlsafe(48))')\")"
            )
        return value

    return parse


# --- parse ---------------------------------------------------------------------------------------


def parse_stack_config(raw: Mapping[str, str], stack: str) -> StackConfig:
    """Build the validated settings from raw config strings (`shipyard:<key>`, `aws:region`)."""
    r = _Reader(raw)
    # Sane, cheap defaults describe a staging-like stack; production choices are explicit.
    environment = r.require(
        "environment", _choice("staging", "production"), "staging or production"
    )
    region = r.require(
        "aws:region", _text(AWS_REGION, "an AWS region such as us-east-1"), "e.g. us-east-1"
    )
    github_repository = r.require(
        "github_repository",
        _text(GITHUB_REPOSITORY, "a GitHub repository as owner/name"),
        "the GitHub repository (owner/name) whose workflows may deploy this stack",
    )
    github_environment = r.require(
        "github_environment",
        _text(GITHUB_ENVIRONMENT, "a GitHub environment name"),
        "the GitHub environment (e.g. staging, production) the deploy job runs in",
    )
    oidc_arn = r.get(
        "github_oidc_provider_arn",
        _text(
            re.compile(
                r"^arn:aws:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
            ),
            "the ARN of the account's GitHub OIDC provider",
        ),
    )
    image_ref = r.get("image_ref", _image_ref)
    image_repository = r.require(
        "image_repository",
        _image_repository,
        "the bootstrap's output image_repository_url (the shared ECR repository)",
    )
    workload_boundary = r.require(
        "workload_boundary_arn",
        _text(WORKLOAD_BOUNDARY_ARN, "an IAM policy ARN"),
        "the bootstrap's output workload_boundary_arn (CI may only create roles that carry it)",
    )
    image_platform = r.get("image_platform", _choice("linux/amd64", "linux/arm64"), "linux/amd64")

    vpc_cidr = r.require("vpc_cidr", _cidr, "a private IPv4 CIDR block such as 10.20.0.0/16")
    azs = r.get("availability_zones", _int_range(2, 3), 2)
    nat = r.get("nat_gateways", _choice("single", "per_az", "none"), "single")
    excluded_zones = r.get("excluded_zone_ids", _list_of(_zone_id))
    if excluded_zones is None:
        excluded_zones = KNOWN_SHORT_ZONE_IDS.get(region or "", ())

    compute_mode = r.get("compute_mode", _choice("fargate", "fargate_spot", "ec2"), "fargate")
    on_demand_base = r.get("fargate_on_demand_base", _int_range(0, 100), 1)
    spot_weight = r.get("fargate_spot_weight", _int_range(1, 10), 3)
    ec2_type = r.get(
        "ec2_instance_type",
        _text(
            re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"), "an EC2 instance type such as t3.medium"
        ),
        "t3.medium",
    )
    ec2_min = r.get("ec2_min_instances", _int_range(0, 100), 1)
    ec2_max = r.get("ec2_max_instances", _int_range(1, 100), 4)
    ec2_target = r.get("ec2_target_capacity_percent", _int_range(1, 100), 90)

    api = ServiceSizing(
        cpu=r.get("api_cpu", _int_range(256, 16384), 512) or 0,
        memory=r.get("api_memory", _int_range(512, 122880), 1024) or 0,
        min_tasks=r.get("api_min_tasks", _int_range(1, 100), 1) or 0,
        max_tasks=r.get("api_max_tasks", _int_range(1, 200), 4) or 0,
    )
    worker = ServiceSizing(
        cpu=r.get("worker_cpu", _int_range(256, 16384), 256) or 0,
        memory=r.get("worker_memory", _int_range(512, 122880), 512) or 0,
        min_tasks=r.get("worker_min_tasks", _int_range(1, 100), 1) or 0,
        max_tasks=r.get("worker_max_tasks", _int_range(1, 200), 4) or 0,
    )
    cpu_target = r.get("api_cpu_target_percent", _int_range(10, 90), 60)
    requests_target = r.get("api_requests_per_task_target", _int_range(10, 100_000), 1000)
    backlog_target = r.get("worker_backlog_per_task_target", _int_range(1, 10_000), 20)

    strategy = r.get("deployment_strategy", _choice("rolling", "blue_green"), "rolling")
    bake = r.get("blue_green_bake_minutes", _int_range(0, MAX_BAKE_MINUTES), 5)
    grace = r.get("health_check_grace_period_seconds", _int_range(0, 600), 60)
    dereg = r.get("deregistration_delay_seconds", _int_range(5, 300), 20)
    stop_timeout = r.get("stop_timeout_seconds", _int_range(2, MAX_STOP_TIMEOUT_SECONDS), 30)
    drain = r.get("graceful_shutdown_seconds", _int_range(1, 110), 20)
    # Above the worker's 10 s long poll: a stopping worker waits for its poll to return.
    worker_drain = r.get("worker_shutdown_seconds", _int_range(11, 110), 20)

    db_class = r.get(
        "db_instance_class",
        _text(
            re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$"), "an RDS instance class such as db.t4g.micro"
        ),
        "db.t4g.micro",
    )
    db_version = r.get(
        "db_engine_version",
        _text(re.compile(r"^1[4-8](\.\d+)?$"), "a PostgreSQL major (14-18) or major.minor version"),
        "16",
    )
    db_storage = r.get("db_allocated_storage_gb", _int_range(20, 65536), 20)
    db_max_storage = r.get("db_max_allocated_storage_gb", _int_range(20, 65536), 100)
    db_multi_az = r.get("db_multi_az", _bool, False)
    db_protect = r.get("db_deletion_protection", _bool, False)
    db_backups = r.get("db_backup_retention_days", _int_range(1, 35), 7)
    protect_stateful = r.get("protect_stateful", _bool, False)

    alb_origin = r.get("alb_origin", _choice("vpc_origin", "public"), "vpc_origin")
    domain = r.get(
        "domain_name", _text(DOMAIN_NAME, "a lower-case DNS name such as app.example.com")
    )
    zone = r.get("hosted_zone_id", _text(re.compile(r"^Z[A-Z0-9]{1,31}$"), "a Route 53 zone id"))
    price_class = r.get(
        "price_class",
        _choice("PriceClass_100", "PriceClass_200", "PriceClass_All"),
        "PriceClass_100",
    )

    retention = r.get("log_retention_days", _log_retention, 30)
    alarm_email = r.get("alarm_email", _email)
    alarm_5xx = r.get("alarm_5xx_per_minute", _int_range(1, 100_000), 5)
    alarm_p95 = r.get("alarm_p95_latency_ms", _int_range(10, 60_000), 1000)
    alarm_age = r.get("alarm_oldest_message_seconds", _int_range(10, 1_209_600), 300)

    jwt_secret = r.require(
        "jwt_secret", _secret(32), "set it with `pulumi config set --secret jwt_secret <random>`"
    )
    origin_secret = r.get("origin_verify_secret", _secret(32))

    alert_emails = r.get("alert_emails", _list_of(_email), ())
    alert_sms = r.get("alert_sms_numbers", _list_of(_e164), ())
    alerts_concurrency = r.get("alerts_reserved_concurrency", _int_range(1, 1000))
    dockerhub_repository = r.get(
        "dockerhub_repository",
        _text(DOCKER_HUB_REPOSITORY, "a Docker Hub repository as namespace/name (lower case)"),
    )
    dockerhub_username = r.get("dockerhub_username", _dockerhub_username)
    dockerhub_token = r.get("dockerhub_token", _token)

    for key in r.unknown_keys():
        r.problems.append(f"{key} is not a known setting (misspelt?); see platform/README.md")

    # --- rules across settings: each names the keys involved --------------------------------
    p = r.problems
    if environment == "production":
        for role, sizing in (("api", api), ("worker", worker)):
            if sizing.min_tasks < 2:
                p.append(
                    f"{NS}{role}_min_tasks={sizing.min_tasks}: production needs at least 2 tasks "
                    "so that one AZ or one task failing leaves the service up"
                )
        if db_multi_az is False:
            p.append(f"{NS}db_multi_az must be true in production (a standby in a second AZ)")
        if db_protect is False:
            p.append(f"{NS}db_deletion_protection must be true in production")
        if protect_stateful is False:
            p.append(
                f"{NS}protect_stateful must be true in production: a `pulumi up` must not be "
                "able to delete the database, queues or buckets without an explicit unprotect"
            )
    for role, sizing in (("api", api), ("worker", worker)):
        if sizing.max_tasks < sizing.min_tasks:
            p.append(
                f"{NS}{role}_max_tasks={sizing.max_tasks} is below "
                f"{NS}{role}_min_tasks={sizing.min_tasks}"
            )
        if compute_mode in ("fargate", "fargate_spot") and sizing.cpu and sizing.memory:
            allowed = FARGATE_SIZES.get(sizing.cpu)
            if allowed is None:
                p.append(
                    f"{NS}{role}_cpu={sizing.cpu} is not a Fargate size; use one of "
                    f"{', '.join(map(str, FARGATE_SIZES))}"
                )
            elif sizing.memory not in allowed:
                p.append(
                    f"{NS}{role}_memory={sizing.memory} does not fit {NS}{role}_cpu={sizing.cpu} "
                    f"on Fargate; use {allowed[0]}..{allowed[-1]} in steps of "
                    f"{allowed[1] - allowed[0] if len(allowed) > 1 else allowed[0]}"
                )
    if stop_timeout is not None:
        for key, value in (
            ("graceful_shutdown_seconds", drain),
            ("worker_shutdown_seconds", worker_drain),
        ):
            if value is not None and value >= stop_timeout:
                p.append(
                    f"{NS}{key}={value} must be below {NS}stop_timeout_seconds={stop_timeout}: "
                    "ECS kills the container (SIGKILL) at stopTimeout, cutting the drain short"
                )
    if ec2_min is not None and ec2_max is not None and ec2_max < ec2_min:
        p.append(f"{NS}ec2_max_instances={ec2_max} is below {NS}ec2_min_instances={ec2_min}")
    if db_storage is not None and db_max_storage is not None and db_max_storage < db_storage:
        p.append(
            f"{NS}db_max_allocated_storage_gb={db_max_storage} is below "
            f"{NS}db_allocated_storage_gb={db_storage}"
        )
    if (domain is None) != (zone is None):
        p.append(
            f"{NS}domain_name and {NS}hosted_zone_id go together: the certificate is validated "
            "and the alias record created in that Route 53 zone"
        )
    if strategy == "blue_green" and bake is not None and bake > MAX_WAITED_BAKE_MINUTES:
        p.append(
            f"{NS}blue_green_bake_minutes={bake}: `pulumi up` waits for the bake time, and the "
            f"deploy job stops after {DEPLOY_JOB_MINUTES} min; use at most "
            f"{MAX_WAITED_BAKE_MINUTES} (a rollout may take {SERVICE_ROLLOUT_WAIT_MINUTES} min "
            "before it)"
        )
    if alb_origin == "public" and domain is None:
        p.append(
            f"{NS}alb_origin=public needs {NS}domain_name and {NS}hosted_zone_id: CloudFront "
            "sends the secret origin header over HTTPS only, which needs a certificate for a "
            "name of yours on the ALB (or use alb_origin=vpc_origin, no public ALB at all)"
        )
    if alb_origin == "public" and origin_secret is None:
        p.append(
            f"{NS}origin_verify_secret is required when {NS}alb_origin=public: the ALB refuses "
            "requests without this CloudFront header (set it with --secret)"
        )
    if (
        image_ref is not None
        and image_repository is not None
        and image_ref.reference.split("@", 1)[0] != image_repository.url
    ):
        p.append(
            f"{NS}image_ref={image_ref.reference} is not in {NS}image_repository="
            f"{image_repository.url}: every stack deploys images from the one shared repository "
            "(build once, promote the digest)"
        )
    if image_ref is not None and region is not None and image_ref.region != region:
        p.append(
            f"{NS}image_ref is in region {image_ref.region} but the stack deploys to {region}; "
            "ECS pulls from the stack's region (replicate the image first)"
        )

    if dockerhub_repository and not (dockerhub_username and dockerhub_token):
        p.append(
            f"{NS}dockerhub_repository={dockerhub_repository} needs {NS}dockerhub_username and "
            f"{NS}dockerhub_token (an access token with write access to it), both set with "
            "`pulumi config set --secret`"
        )
    if not dockerhub_repository and (dockerhub_username or dockerhub_token):
        p.append(
            f"{NS}dockerhub_username/{NS}dockerhub_token are set but {NS}dockerhub_repository is "
            "not: nothing would be pushed; set the repository or remove the credentials"
        )

    if p:
        raise ConfigError(stack, p)

    return StackConfig(
        stack=stack,
        environment=cast(Environment, environment),
        region=cast(str, region),
        github_repository=cast(str, github_repository),
        github_environment=cast(str, github_environment),
        github_oidc_provider_arn=oidc_arn,
        image_ref=image_ref,
        image_platform=cast(ImagePlatform, image_platform),
        vpc_cidr=cast(ipaddress.IPv4Network, vpc_cidr),
        availability_zones=cast(int, azs),
        nat_gateways=cast(NatMode, nat),
        excluded_zone_ids=tuple(excluded_zones),
        compute_mode=cast(ComputeMode, compute_mode),
        fargate_on_demand_base=cast(int, on_demand_base),
        fargate_spot_weight=cast(int, spot_weight),
        ec2_instance_type=cast(str, ec2_type),
        ec2_min_instances=cast(int, ec2_min),
        ec2_max_instances=cast(int, ec2_max),
        ec2_target_capacity_percent=cast(int, ec2_target),
        api=api,
        worker=worker,
        api_cpu_target_percent=cast(int, cpu_target),
        api_requests_per_task_target=cast(int, requests_target),
        worker_backlog_per_task_target=cast(int, backlog_target),
        deployment_strategy=cast(DeploymentStrategy, strategy),
        blue_green_bake_minutes=cast(int, bake),
        health_check_grace_period_seconds=cast(int, grace),
        deregistration_delay_seconds=cast(int, dereg),
        stop_timeout_seconds=cast(int, stop_timeout),
        graceful_shutdown_seconds=cast(int, drain),
        worker_shutdown_seconds=cast(int, worker_drain),
        db_instance_class=cast(str, db_class),
        db_engine_version=cast(str, db_version),
        db_allocated_storage_gb=cast(int, db_storage),
        db_max_allocated_storage_gb=cast(int, db_max_storage),
        db_multi_az=cast(bool, db_multi_az),
        db_deletion_protection=cast(bool, db_protect),
        db_backup_retention_days=cast(int, db_backups),
        protect_stateful=cast(bool, protect_stateful),
        alb_origin=cast(AlbOrigin, alb_origin),
        domain_name=domain,
        hosted_zone_id=zone,
        price_class=cast(str, price_class),
        log_retention_days=cast(int, retention),
        alarm_email=alarm_email,
        alarm_5xx_per_minute=cast(int, alarm_5xx),
        alarm_p95_latency_ms=cast(int, alarm_p95),
        alarm_oldest_message_seconds=cast(int, alarm_age),
        jwt_secret=cast(str, jwt_secret),
        origin_verify_secret=origin_secret,
        alert_emails=cast(tuple[str, ...], alert_emails),
        alert_sms_numbers=cast(tuple[str, ...], alert_sms),
        alerts_reserved_concurrency=alerts_concurrency,
        dockerhub_repository=dockerhub_repository,
        dockerhub_username=dockerhub_username,
        dockerhub_token=dockerhub_token,
        image_repository=image_repository,
        workload_boundary_arn=workload_boundary,
    )


def raw_config_from_runtime() -> dict[str, str]:
    """Every config value the Pulumi engine handed this program, as `namespace:key` strings.

    The engine passes config through the PULUMI_CONFIG environment bag; mocks set it in-process.
    Both are read so that unknown `shipyard:` keys (typos) can be refused too.
    """
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {key: _as_text(value) for key, value in merged.items()}


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def load_stack_config() -> StackConfig:
    import pulumi

    return parse_stack_config(raw_config_from_runtime(), pulumi.get_stack())
