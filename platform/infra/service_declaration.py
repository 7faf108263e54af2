"""The application's services as data: `services.yaml` at the repository root, read and checked.

Why a YAML file validated by a pydantic model (like AWS Copilot's manifests) rather than Python
objects in the program: adding or replacing a service must be an edit outside `platform/infra/`,
readable by people who do not read Pulumi code, and checkable before anything is planned. Every
problem is reported at once, each naming its entry (`services.reports.port: ...`), so a bad
declaration stops the program with one message and no resource registered.

How sizes meet the stack files (the rule, written once here and in docs/adapting.md):
- `stack_settings: <group>` (api or worker): the service's cpu, memory, min_tasks and max_tasks
  are `shipyard:<group>_cpu`, `_memory`, `_min_tasks`, `_max_tasks` of Pulumi.<stack>.yaml
  (with their defaults in config.py), so the demo's stack files, the cost estimator and the
  connection check keep reading the same keys. Several services may share a group.
- otherwise `size:` holds the values for every stack, and `stacks: {<stack>: {...}}` overrides
  some of them for one stack (Copilot's `environments:`). A service has one source: a
  declaration with both `stack_settings` and `size`/`stacks` is refused.

Functions (`kind: function`, a Lambda function fed by topic subscriptions): the entry holds the
function's deployment facts, each written here only: its code (`package`, `entry_point`),
`memory`, `timeout`, `retries`, the topics it `publishes`, and its reserved concurrency, either
`reserved_concurrency` (with `stacks: {<stack>: {reserved_concurrency: N}}`) or `stack_settings:
alerts` for the stack files' `shipyard:alerts_reserved_concurrency`, so the demo's stack files and
the preflight check keep reading that key. Who invokes it stays in the messaging topology
(`FunctionSubscription`: topic, function name, filter policy), declared once for the cloud and the
emulator (service/messaging/topology.py says why). `Declaration.with_functions` joins the two into
the `Topology` the program, the emulator bootstrap and the local runner read; the checks below
refuse a subscription that names no declared function and a function nothing subscribes.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from infra.config import (
    DEPLOYMENT_MAXIMUM_PERCENT,
    FARGATE_SIZES,
    IMAGE_DIGEST_REF,
    NS,
    RESERVED_CONNECTIONS,
    ServiceSizing,
    StackConfig,
    db_max_connections,
)
from infra.paths import REPO_ROOT
from service.messaging.topology import Function, Topology

DECLARATION_FILE = REPO_ROOT / "services.yaml"
# --- the limits a web service's `paths` must fit (AWS's documented quotas and syntax) ---
# Each web service gets ONE listener rule (ECS blue/green names one production rule per service),
# so its paths are the values of that rule's single path-pattern condition. ALB, "Condition types
# for listener rules", Condition basics: up to three match evaluations per condition, up to five
# per rule (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html);
# "Quotas for your Application Load Balancers", Rules: condition values per rule 5, condition
# wildcards per rule 5 (not adjustable), rules per load balancer 100; Load balancers: target
# groups per load balancer 100:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
# So a service has at most 3 paths; alb_origin=public adds an http-header condition of one value
# (CloudFront's secret header), 3 + 1 staying within the rule's 5.
ALB_MATCH_EVALUATIONS_PER_CONDITION = 3
ALB_CONDITION_VALUES_PER_RULE = 5
ALB_CONDITION_WILDCARDS_PER_RULE = 5
ALB_RULES_PER_LOAD_BALANCER = 100
ALB_TARGET_GROUPS_PER_LOAD_BALANCER = 100
# CloudFront, "Quotas", General quotas on distributions: cache behaviors per distribution 75
# (adjustable): https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html
# Counted with the default behaviour (the static site), so 74 ordered ones are left for paths.
CLOUDFRONT_CACHE_BEHAVIORS_PER_DISTRIBUTION = 75
# The syntax both accept. ALB path-pattern values: at most 128 characters, case sensitive, `*`
# and `?` as wildcards (ELB API reference, PathPatternConditionConfig:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_PathPatternConditionConfig.html).
# CloudFront path patterns: at most 255 characters of A-Z a-z 0-9 _ - . * $ / ~ " ' @ : + and &
# (passed as &amp;), `*` and `?` as wildcards (Developer Guide, "Cache behavior settings", Path
# pattern: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html).
# What passes here fits both: a leading slash, ALB's length, CloudFront's characters without the
# quotes and `&` (which YAML and CloudFront's XML would need escaped).
PATH_PATTERN_MAX = 128
# The static site's page at `/` (CloudFront's default root object, edge.py): a web path that
# matches it would take the site's front page away from the bucket.
SITE_INDEX = "/index.html"
PATH_PATTERN = re.compile(r"^/[A-Za-z0-9_\-.*?$/~@:+]*$")
# IAM role names are at most 64 characters, and a name_prefix leaves 26 of them to the generated
# suffix: pulumi-aws is bridged from terraform-provider-aws, whose aws_iam_role checks name_prefix
# against roleNamePrefixMaxLen = 64 - id.UniqueIDSuffixLength (26) (internal/service/iam/role.go).
IAM_NAME_PREFIX_MAX = 38

Kind = Literal["web", "worker", "task", "scheduled", "function"]
LONG_RUNNING: tuple[Kind, ...] = ("web", "worker")
CONTAINER_KINDS: tuple[Kind, ...] = ("web", "worker", "task", "scheduled")
# A DNS-safe ECS service / log stream name; `<prefix>-<name>-` must also fit IAM's name_prefix
# (checked per stack, below).
ServiceName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,19}$")]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")]
# The secrets the platform holds and can inject by name (app_secrets.py).
SecretName = Literal["JWT_SECRET"]
# EventBridge Scheduler's expression forms (Scheduler User Guide, "Schedule types in EventBridge
# Scheduler": https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
# rate(value unit) with a positive value; cron(minutes hours day-of-month month day-of-week year),
# six fields (a Unix crontab's five are refused); at(yyyy-mm-ddThh:mm:ss). The fields' own values
# are left to Scheduler. Singular units (`rate(1 hour)`) are kept: EventBridge's rate syntax.
SCHEDULE_EXPRESSION = re.compile(
    r"^(rate\([1-9]\d* (minute|minutes|hour|hours|day|days)\)"
    r"|cron\(\S+( \S+){5}\)"
    r"|at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\))$"
)
# Stack-file groups of sizes (config.py's fields <group>_cpu, _memory, _min_tasks, _max_tasks).
STACK_SIZING_GROUPS: dict[str, str] = {"api": "api", "worker": "worker"}
# A function's stack-file group: config.py's field for its reserved concurrency.
FUNCTION_STACK_SETTINGS: dict[str, str] = {"alerts": "alerts_reserved_concurrency"}
# Lambda's limits ("Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
# memory 128 MB to 10,240 MB in 1-MB increments, timeout at most 900 seconds (15 minutes); the
# CreateFunction API reference sets the timeout's minimum at 1 s. Asynchronous retries: 0 to 2
# (FunctionEventInvokeConfig's MaximumRetryAttempts).
LAMBDA_MEMORY_MB = (128, 10240)
LAMBDA_TIMEOUT_SECONDS = (1, 900)
LAMBDA_ASYNC_RETRIES = (0, 2)
# A dotted Python name: `service.notifications`; an entry point is `<module>.<function>`.
DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
ENTRY_POINT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
# What the platform itself sets in every container (task_definitions.py); a declaration may not
# set them too, or two places would decide one value.
PLATFORM_ENVIRONMENT = frozenset(
    {
        "ENVIRONMENT", "AWS_REGION", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "LOG_LEVEL",
        "DB_PASSWORD_SECRET_ARN", "HOST", "PORT", "GRACEFUL_SHUTDOWN_SECONDS", "WEB_CONCURRENCY",
        "TRUSTED_PROXIES", "WORKER_SHUTDOWN_SECONDS", "WORKER_VISIBILITY_TIMEOUT_SECONDS",
        "DB_PASSWORD", "JWT_SECRET",
    }
)  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Size(_Strict):
    cpu: int = 256  # ECS cpu units (1024 = 1 vCPU)
    memory: int = 512  # MiB
    min_tasks: int = Field(1, ge=0)
    max_tasks: int = Field(1, ge=1)


class Scaling(_Strict):
    """What a long-running service's task count follows (target tracking, services.py), between
    its min_tasks and max_tasks. Unset values are the stack file's (`<project>:api_cpu_target_
    percent`, `api_requests_per_task_target`, `worker_backlog_per_task_target`, defaults in
    config.py), so services that declare none scale as the demo's do. Ranges: config.py's."""

    cpu_target_percent: int | None = Field(None, ge=10, le=90)  # web
    requests_per_task_target: int | None = Field(None, ge=10, le=100_000)  # web (rolling)
    backlog_per_task_target: int | None = Field(None, ge=1, le=10_000)  # worker


@dataclass(frozen=True)
class ScalingTargets:
    """A service's scaling targets resolved for one stack."""

    cpu_target_percent: int
    requests_per_task_target: int
    backlog_per_task_target: int


class SizeOverride(_Strict):
    cpu: int | None = None
    memory: int | None = None
    min_tasks: int | None = Field(None, ge=0)
    max_tasks: int | None = Field(None, ge=1)
    scaling: Scaling | None = None  # web and worker: merged over the service's own `scaling`
    reserved_concurrency: int | None = Field(None, ge=1, le=1000)  # functions only


class Service(_Strict):
    kind: Kind
    command: tuple[str, ...] = ()  # every kind but function (checked in `problems`)
    # Another image than the one the platform builds: a digest reference in the bootstrap's
    # shared repository (the execution role pulls from that repository only).
    image: Annotated[str, StringConstraints(pattern=IMAGE_DIGEST_REF.pattern)] | None = None
    port: int | None = Field(None, ge=1, le=65535)
    health_path: Annotated[str, StringConstraints(pattern=r"^/\S*$")] | None = None
    # A web service's URL path patterns (`/api/*`, `/healthz`): CloudFront sends them to the load
    # balancer, whose listener rule for this service forwards them to its target group. In
    # declaration order, across web services (see Declaration.problems for the rules).
    paths: tuple[str, ...] = ()
    schedule: str | None = None
    stack_settings: Literal["api", "worker", "alerts"] | None = None
    size: Size | None = None
    scaling: Scaling | None = None  # web and worker
    stacks: dict[str, SizeOverride] = {}
    database: bool = False  # connects to the stack's PostgreSQL (DB_* settings, admitted by RDS)
    # The most connections one task opens (its pool's size + overflow): counted with the stack's
    # own in the connection check. Required with `database` unless `stack_settings` names a group
    # config.py already counts (api, worker; the migration as one task).
    database_connections: int | None = Field(None, ge=1)
    secrets: tuple[SecretName, ...] = ()
    environment: dict[EnvName, str] = {}
    publishes: tuple[str, ...] = ()  # topic keys of the topology
    consumes: tuple[str, ...] = ()  # queue keys of the topology
    # kind: function (see the module docstring; Lambda's defaults where it has one)
    description: str | None = None
    package: str | None = None  # dotted name of the package that is the function's whole code
    entry_point: str | None = None  # "<module>.<function>" inside that package
    memory: int | None = None  # MiB (Lambda: 128)
    timeout: int | None = None  # seconds (Lambda: 3)
    retries: int | None = None  # asynchronous invocations' retries (Lambda: 2)
    reserved_concurrency: int | None = Field(None, ge=1, le=1000)  # None: unreserved

    @property
    def long_running(self) -> bool:
        return self.kind in LONG_RUNNING

    @property
    def web_port(self) -> int:
        """The port of a web service (the declaration's rules make it present)."""
        if self.port is None:
            raise ValueError(f"a {self.kind} service has no port")
        return self.port

    @property
    def web_health_path(self) -> str:
        if self.health_path is None:
            raise ValueError(f"a {self.kind} service has no health path")
        return self.health_path

    def problems(self, topology: Topology) -> Iterator[str]:
        """What is wrong with this entry, each as `<field>: <what to do>`."""
        if self.kind == "function":
            yield from self._function_problems(topology)
            return
        yield from self._not_a_function_problems()
        if self.kind == "web":
            if self.port is None:
                yield "port: a web service needs the port its container listens on"
            if self.health_path is None:
                yield "health_path: a web service needs the path the load balancer checks"
            yield from self._path_problems()
        elif self.port is not None or self.health_path is not None:
            yield f"port/health_path: only a web service has them (this one is {self.kind})"
        if self.kind != "web" and self.paths:
            yield f"paths: only a web service serves paths (this one is {self.kind})"
        if self.kind == "worker" and not self.consumes:
            yield "consumes: a worker needs the queue it is fed by (a queue key of the topology)"
        if self.kind == "scheduled":
            if self.schedule is None:
                yield "schedule: a scheduled task needs rate(...), cron(...) or at(...)"
            elif not SCHEDULE_EXPRESSION.match(self.schedule):
                yield (
                    f"schedule: {self.schedule!r} is not an EventBridge Scheduler expression; "
                    "use rate(1 hour), cron(0 3 * * ? *) or at(2027-01-01T00:00:00)"
                )
        elif self.schedule is not None:
            yield f"schedule: only a scheduled task has one (this one is {self.kind})"
        if self.database and self.stack_settings is None and self.database_connections is None:
            yield (
                "database_connections: a service that uses the database declares the most "
                "connections one task opens, so the stack's connection check counts them"
            )
        if self.stack_settings is not None and (self.size is not None or self.stacks):
            yield (
                f"stack_settings: {self.stack_settings} takes the sizes from the stack files; "
                "remove size/stacks, or remove stack_settings"
            )
        yield from self._publishes_problems(topology)
        queues = {q.key for q in topology.queues}
        for key in self.consumes:
            if key not in queues:
                yield (
                    f"consumes: {key!r} is not a queue of the topology; use one of {sorted(queues)}"
                )
        for name in sorted(set(self.environment) & PLATFORM_ENVIRONMENT):
            yield f"environment: {name} is set by the platform; remove it here"

    def _path_problems(self) -> Iterator[str]:
        if not self.paths:
            yield (
                "paths: a web service needs the URL path patterns it serves, e.g. "
                '["/reports/*"]; CloudFront and the load balancer send only those to it'
            )
        for path in self.paths:
            if not PATH_PATTERN.match(path) or len(path) > PATH_PATTERN_MAX:
                yield (
                    f"paths: {path!r} is not a path pattern both CloudFront and the load balancer "
                    f"accept; start with /, use at most {PATH_PATTERN_MAX} of A-Z a-z 0-9 "
                    "_ - . $ / ~ @ : + and the wildcards * and ?"
                )
            elif not path.strip("/*") or fnmatch.fnmatchcase(SITE_INDEX, path):
                yield (
                    f"paths: {path!r} would take every path or the static site's {SITE_INDEX} "
                    "(CloudFront's default behaviour serves the site); name the service's own "
                    "prefix, e.g. /reports/*"
                )
        if len(set(self.paths)) != len(self.paths):
            yield "paths: a pattern is listed twice; list each once"
        if len(self.paths) > ALB_MATCH_EVALUATIONS_PER_CONDITION:
            yield (
                f"paths: {len(self.paths)} patterns; the path-pattern condition of the service's "
                f"listener rule holds at most {ALB_MATCH_EVALUATIONS_PER_CONDITION} (an ALB limit "
                "that cannot be raised); use broader patterns, e.g. /reports/*"
            )
        wildcards = sum(path.count("*") + path.count("?") for path in self.paths)
        if wildcards > ALB_CONDITION_WILDCARDS_PER_RULE:
            yield (
                f"paths: {wildcards} wildcards (* and ?); the service's listener rule takes at "
                f"most {ALB_CONDITION_WILDCARDS_PER_RULE} (an ALB quota that cannot be raised)"
            )

    def _not_a_function_problems(self) -> Iterator[str]:
        if not self.command:
            yield f"command: a {self.kind} service needs the command its container runs"
        function_only = (
            "description", "package", "entry_point", "memory", "timeout", "retries",
            "reserved_concurrency",
        )  # fmt: skip
        for name in function_only:
            if getattr(self, name) is not None:
                yield f"{name}: only a function has one (this one is {self.kind})"
        if self.stack_settings in FUNCTION_STACK_SETTINGS:
            yield (
                f"stack_settings: {self.stack_settings} is a function's group; use one of "
                f"{sorted(STACK_SIZING_GROUPS)}"
            )
        for stack, override in self.stacks.items():
            if override.reserved_concurrency is not None:
                yield f"stacks.{stack}.reserved_concurrency: only a function has one"
        yield from self._scaling_problems()

    def _scaling_problems(self) -> Iterator[str]:
        """A target the service's kind has no policy for would be silently ignored: refused."""
        declared = [("scaling", self.scaling)] + [
            (f"stacks.{stack}.scaling", o.scaling) for stack, o in self.stacks.items()
        ]
        for where, scaling in declared:
            if scaling is None:
                continue
            if not self.long_running:
                yield f"{where}: only a web or worker service scales (this one is {self.kind})"
                continue
            if self.stack_settings is not None:
                yield (
                    f"{where}: stack_settings: {self.stack_settings} takes the scaling targets "
                    "from the stack files too; remove scaling, or stack_settings"
                )
            if self.kind == "web" and scaling.backlog_per_task_target is not None:
                yield f"{where}.backlog_per_task_target: only a worker scales on a queue's backlog"
            if self.kind == "worker":
                for target in ("cpu_target_percent", "requests_per_task_target"):
                    if getattr(scaling, target) is not None:
                        yield (
                            f"{where}.{target}: a worker scales on its queue's backlog only "
                            "(backlog_per_task_target)"
                        )

    def _function_problems(self, topology: Topology) -> Iterator[str]:
        """A function's rules: its code exists where Lambda will look, its size is one Lambda
        accepts, and nothing of a container is declared (it would be silently ignored)."""
        container_only = {
            "command": self.command, "image": self.image, "port": self.port,
            "health_path": self.health_path, "schedule": self.schedule, "size": self.size,
            "database": self.database, "database_connections": self.database_connections,
            "secrets": self.secrets, "environment": self.environment, "consumes": self.consumes,
            "paths": self.paths, "scaling": self.scaling,
        }  # fmt: skip
        for name, value in container_only.items():
            if value:
                yield f"{name}: a function has none (its code is `package` and `entry_point`)"
        yield from self._function_code_problems()
        for name, value, (low, high), unit in (
            ("memory", self.memory, LAMBDA_MEMORY_MB, " MB"),
            ("timeout", self.timeout, LAMBDA_TIMEOUT_SECONDS, " s"),
            ("retries", self.retries, LAMBDA_ASYNC_RETRIES, ""),
        ):
            if value is not None and not low <= value <= high:
                yield f"{name}: {value}{unit} is outside Lambda's {low}..{high}{unit}"
        if self.stack_settings is not None:
            if self.stack_settings not in FUNCTION_STACK_SETTINGS:
                yield (
                    f"stack_settings: {self.stack_settings} is a container group; a function's "
                    f"is one of {sorted(FUNCTION_STACK_SETTINGS)}"
                )
            elif self.reserved_concurrency is not None or self.stacks:
                yield (
                    f"stack_settings: {self.stack_settings} takes the reserved concurrency from "
                    "the stack files; remove reserved_concurrency/stacks, or stack_settings"
                )
        for stack, override in self.stacks.items():
            others = sorted(k for k, v in override.model_dump().items() if v is not None)
            if others != ["reserved_concurrency"] and others:
                yield (
                    f"stacks.{stack}: a function overrides reserved_concurrency only "
                    f"(given {', '.join(others)})"
                )
        yield from self._publishes_problems(topology)

    def _publishes_problems(self, topology: Topology) -> Iterator[str]:
        topics = {t.key for t in topology.topics}
        for key in self.publishes:
            if key not in topics:
                yield (
                    f"publishes: {key!r} is not a topic of the topology; "
                    f"use one of {sorted(topics)}"
                )

    def _function_code_problems(self) -> Iterator[str]:
        if self.package is None:
            yield "package: a function needs the dotted name of the package that is its code"
        elif not DOTTED_NAME.match(self.package):
            yield f"package: {self.package!r} is not a dotted package name (service.alerts)"
        else:
            folder = REPO_ROOT.joinpath(*self.package.split("."))
            if not (folder / "__init__.py").is_file():
                what = "has no __init__.py" if folder.is_dir() else "does not exist"
                yield (
                    f"package: {folder.relative_to(REPO_ROOT)} {what}; a function's code is a "
                    "package of this repository"
                )
        if self.entry_point is None or not ENTRY_POINT.match(self.entry_point):
            yield (
                f"entry_point: {self.entry_point!r} is not `<module>.<function>` (handler.handler "
                "for the function `handler` of the package's handler.py)"
            )
        elif self.package is not None and DOTTED_NAME.match(self.package):
            module = self.entry_point.rsplit(".", 1)[0].split(".")
            path = REPO_ROOT.joinpath(*self.package.split("."), *module[:-1], f"{module[-1]}.py")
            if (path.parent / "__init__.py").is_file() and not path.is_file():
                yield f"entry_point: {path.relative_to(REPO_ROOT)} does not exist"

    def function(self, key: str) -> Function:
        """This `kind: function` entry as the topology's consumers read it."""
        if self.package is None or self.entry_point is None:
            raise ValueError(f"{key}: a {self.kind} service is not a function")
        return Function(
            key=key,
            description=self.description or "",
            package=self.package,
            entry_point=self.entry_point,
            publishes=self.publishes,
            timeout_seconds=self.timeout or 3,
            memory_mb=self.memory or LAMBDA_MEMORY_MB[0],
            async_retries=2 if self.retries is None else self.retries,
        )

    def reserved_concurrency_in(self, config: StackConfig) -> int | None:
        """A function's reserved concurrency in `config`'s stack; None: unreserved."""
        if self.stack_settings is not None:
            reserved: int | None = getattr(config, FUNCTION_STACK_SETTINGS[self.stack_settings])
            return reserved
        override = self.stacks.get(config.stack)
        if override is not None and override.reserved_concurrency is not None:
            return override.reserved_concurrency
        return self.reserved_concurrency

    def sizing(self, config: StackConfig) -> ServiceSizing:
        """cpu, memory and task counts in `config`'s stack (see the module docstring's rule)."""
        if self.stack_settings is not None:
            sizing: ServiceSizing = getattr(config, STACK_SIZING_GROUPS[self.stack_settings])
            return sizing
        base = (self.size or Size()).model_dump()
        override = self.stacks.get(config.stack)
        if override is not None:
            base.update(
                {k: v for k, v in override.model_dump().items() if v is not None and k in base}
            )
        return ServiceSizing(**base)

    def scaling_in(self, config: StackConfig) -> ScalingTargets:
        """The scaling targets in `config`'s stack: the stack file's, then the service's own
        `scaling`, then its `stacks.<stack>.scaling` (each value set wins over the one before)."""
        targets = {
            "cpu_target_percent": config.api_cpu_target_percent,
            "requests_per_task_target": config.api_requests_per_task_target,
            "backlog_per_task_target": config.worker_backlog_per_task_target,
        }
        override = self.stacks.get(config.stack)
        for scaling in (self.scaling, override.scaling if override else None):
            if scaling is not None:
                targets.update({k: v for k, v in scaling.model_dump().items() if v is not None})
        return ScalingTargets(**targets)


class Declaration(_Strict):
    services: dict[ServiceName, Service]

    def of_kind(self, *kinds: Kind) -> dict[str, Service]:
        return {name: s for name, s in self.services.items() if s.kind in kinds}

    @property
    def functions(self) -> tuple[Function, ...]:
        """The `kind: function` entries, as the topology's consumers read them."""
        return tuple(s.function(name) for name, s in self.of_kind("function").items())

    def with_functions(self, topology: Topology) -> Topology:
        """`topology` with the declared functions: what the program, the emulator bootstrap and
        the local runner read (service/messaging/topology.py says why they are joined here)."""
        return replace(topology, functions=self.functions)

    def reserved_concurrency(self, config: StackConfig) -> dict[str, int | None]:
        """Each function's reserved concurrency in `config`'s stack (None: unreserved)."""
        return {
            name: s.reserved_concurrency_in(config) for name, s in self.of_kind("function").items()
        }

    def problems(self, topology: Topology) -> Iterator[str]:
        for name, service in self.services.items():
            for problem in service.problems(topology):
                yield f"services.{name}.{problem}"
        yield from self._function_subscription_problems(topology)
        webs = self.of_kind("web")
        if not webs:
            yield (
                "services: no web service; declare at least one (kind: web, with port, "
                "health_path and paths): the load balancer and the deploy's checks need one"
            )
        yield from _path_overlaps(webs)
        behaviours = sum(len(s.paths) for s in webs.values())
        if behaviours > CLOUDFRONT_CACHE_BEHAVIORS_PER_DISTRIBUTION - 1:
            yield (
                f"services: the web services declare {behaviours} paths in all; CloudFront takes "
                f"{CLOUDFRONT_CACHE_BEHAVIORS_PER_DISTRIBUTION - 1} besides the site's default "
                "behaviour (a quota AWS may raise on request); use broader patterns"
            )

    def _function_subscription_problems(self, topology: Topology) -> Iterator[str]:
        """The topology's function subscriptions against the declared functions, both ways."""
        functions = self.of_kind("function")
        for sub in topology.function_subscriptions:
            where = f"topology: the subscription {sub.topic} -> {sub.function}"
            if sub.function not in self.services:
                yield (
                    f"{where} names no declared service; declare {sub.function} with kind: "
                    f"function in services.yaml, or remove the subscription from "
                    "service/messaging/topology.py"
                )
            elif sub.function not in functions:
                yield f"{where} names a {self.services[sub.function].kind}, not a function"
        subscribed = {sub.function for sub in topology.function_subscriptions}
        for name in sorted(set(functions) - subscribed):
            yield (
                f"services.{name}: no subscription invokes this function; add a "
                f"FunctionSubscription(topic=..., function={name!r}) to "
                "service/messaging/topology.py"
            )

    def sizing_problems(self, config: StackConfig) -> Iterator[str]:
        """What the stack `config` cannot run: an image outside its repository, a size outside
        Fargate's table, a single task in production, more paths or web services than the load
        balancer takes."""
        yield from self._load_balancer_problems(config)
        for name, service in self.services.items():
            role_prefix = f"{config.prefix}-{name}-"  # task_roles.py, scheduled_tasks.py
            if len(role_prefix) > IAM_NAME_PREFIX_MAX:
                yield (
                    f"services.{name}: the role name prefix {role_prefix} is longer than IAM's "
                    f"{IAM_NAME_PREFIX_MAX} characters; use a shorter service name"
                )
            repository = config.image_repository.url
            if service.image is not None and service.image.split("@", 1)[0] != repository:
                yield (
                    f"services.{name}.image: {service.image} is not in the stack's image "
                    f"repository {repository}; push it there and use its digest"
                )
            if service.stack_settings is not None or service.kind == "function":
                continue  # config.py's own rules check the stack-file groups; a function's above
            sizing = service.sizing(config)
            where = f"services.{name}.size (stack {config.stack})"
            cpu, memory, low, high = sizing.cpu, sizing.memory, sizing.min_tasks, sizing.max_tasks
            if high < low:
                yield f"{where}: max_tasks={high} is below min_tasks={low}"
            allowed = FARGATE_SIZES.get(cpu)
            if config.uses_fargate and allowed is None:
                yield f"{where}: cpu={cpu} is not a Fargate size; use one of {list(FARGATE_SIZES)}"
            elif config.uses_fargate and allowed and memory not in allowed:
                yield (
                    f"{where}: memory={memory} does not fit cpu={cpu} on Fargate; "
                    f"use {allowed[0]}..{allowed[-1]}"
                )
            if config.environment == "production" and service.long_running and low < 2:
                yield f"{where}: production needs min_tasks >= 2 (one AZ failing leaves it up)"
        yield from self._connection_problems(config)

    def _load_balancer_problems(self, config: StackConfig) -> Iterator[str]:
        # alb_origin=public adds one header value to each rule: 3 paths + 1 fit the rule's 5, so
        # the per-condition limit (Service._path_problems) is the only one a service can reach.
        webs = self.of_kind("web")
        groups_each = 2 if config.deployment_strategy == "blue_green" else 1
        most = min(ALB_RULES_PER_LOAD_BALANCER, ALB_TARGET_GROUPS_PER_LOAD_BALANCER // groups_each)
        if len(webs) > most:
            yield (
                f"services (stack {config.stack}): {len(webs)} web services; one load balancer "
                f"takes {most} with {NS}deployment_strategy={config.deployment_strategy} "
                f"({groups_each} target group(s) and one rule each); declare fewer"
            )

    def _connection_problems(self, config: StackConfig) -> Iterator[str]:
        """The declared services' connections on top of what config.py counts, at a deploy's peak
        (a rolling deploy runs DEPLOYMENT_MAXIMUM_PERCENT of each long-running service)."""
        extra: dict[str, int] = {}
        for name, service in self.services.items():
            per_task = service.database_connections
            if not service.database or service.stack_settings is not None or per_task is None:
                continue  # (a function has no database: its rules say so)
            tasks = service.sizing(config).max_tasks
            peak = tasks * DEPLOYMENT_MAXIMUM_PERCENT // 100 if service.long_running else 1
            extra[name] = peak * per_task
        if not extra:
            return
        limit = db_max_connections(config.db_instance_class) - RESERVED_CONNECTIONS
        needed = config.db_connections_at_peak + sum(extra.values())
        if needed > limit:
            declared = ", ".join(f"{k} {v}" for k, v in extra.items())
            yield (
                f"services (stack {config.stack}): the declared services open {declared} database "
                f"connections at a deploy's peak, on top of the stack's "
                f"{config.db_connections_at_peak}: {needed} in all, above the {limit} that "
                f"{NS}db_instance_class={config.db_instance_class} accepts; lower their "
                "max_tasks or database_connections, or use a larger instance class"
            )


def patterns_intersect(first: str, second: str) -> bool:
    """Whether some URL path matches both patterns (`*`: any run of characters, `/` included,
    as in ALB's and CloudFront's path patterns; `?`: exactly one).

    Reading one pattern as a path and matching the other misses overlaps where each has a
    wildcard the other lacks: `/a*b` and `/ab*` both take `/abb`. This walks both at once
    instead: a `*` either ends (matches nothing more) or takes the next character the other
    pattern produces."""

    @functools.cache
    def meet(i: int, j: int) -> bool:
        if i == len(first) and j == len(second):
            return True
        if i < len(first) and first[i] == "*":
            return meet(i + 1, j) or (j < len(second) and meet(i, j + 1))
        if j < len(second) and second[j] == "*":
            return meet(i, j + 1) or (i < len(first) and meet(i + 1, j))
        if i == len(first) or j == len(second):
            return False
        a, b = first[i], second[j]
        return (a == b or "?" in (a, b)) and meet(i + 1, j + 1)

    return meet(0, 0)


def _path_overlaps(webs: Mapping[str, Service]) -> Iterator[str]:
    """Two web services whose patterns can match one URL: which one gets it would depend on the
    order of CloudFront's behaviours and the rules' priorities, so it is refused; each path has
    one owner (`/api/*` takes `/api/v2/*`; `/a*b` and `/ab*` share `/abb`)."""
    claimed: list[tuple[str, str]] = []  # (pattern, service), in declaration order
    for name, service in webs.items():
        for path in service.paths:
            for other_path, other in claimed:
                if other != name and patterns_intersect(path, other_path):
                    yield (
                        f"services.{name}.paths: {path!r} overlaps {other_path!r} of "
                        f"services.{other}; give each web service its own prefix"
                    )
        claimed.extend((path, name) for path in service.paths)


class DeclarationError(ValueError):
    """The services declaration is wrong; the message lists every problem, each naming its entry."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{source} has {len(problems)} problem(s); nothing was deployed:\n{lines}\n"
            "See docs/adapting.md for the kinds and their fields."
        )


def parse_declaration(data: Any, topology: Topology, source: str = "services.yaml") -> Declaration:
    """The declaration, or DeclarationError listing every problem (types and rules) at once."""
    try:
        declaration = Declaration.model_validate(data)
    except ValidationError as error:
        problems = [_describe(e) for e in error.errors()]
        # The rules of the entries that did parse too, so that one run shows every fault.
        entries = data.get("services") if isinstance(data, dict) else None
        for name, entry in entries.items() if isinstance(entries, dict) else ():
            try:
                service = Service.model_validate(entry)
            except ValidationError:
                continue
            problems.extend(f"services.{name}.{p}" for p in service.problems(topology))
        raise DeclarationError(source, problems) from None
    problems = list(declaration.problems(topology))
    if problems:
        raise DeclarationError(source, problems)
    return declaration


def load_declaration(topology: Topology, path: Path = DECLARATION_FILE) -> Declaration:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise DeclarationError(str(path), [f"cannot be read: {error}"]) from None
    return parse_declaration(data, topology, path.name)


def check_for_stack(declaration: Declaration, config: StackConfig) -> None:
    problems = list(declaration.sizing_problems(config))
    if problems:
        raise DeclarationError("services.yaml", problems)


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"])
    given = error.get("input")
    shown = "" if isinstance(given, dict) else f" (given {given!r})"
    return f"{where}: {error['msg']}{shown}"


@dataclass(frozen=True)
class DeclaredService:
    """One service resolved for a stack: what the building blocks read."""

    name: str
    spec: Service
    sizing: ServiceSizing
    scaling: ScalingTargets


def resolve(declaration: Declaration, config: StackConfig) -> dict[str, DeclaredService]:
    """The container services (every kind but function: infra/functions.py builds those from
    `Declaration.with_functions`)."""
    check_for_stack(declaration, config)
    return {
        name: DeclaredService(name, spec, spec.sizing(config), spec.scaling_in(config))
        for name, spec in declaration.of_kind(*CONTAINER_KINDS).items()
    }
