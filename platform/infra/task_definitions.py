"""Container definitions: one container per declared service, in ECS's own JSON shape; the image
the platform builds, or the digest a service declares as its own `image`.

What each container gets follows from its declaration (services.yaml): its command; the database
settings if it connects to the database; the messaging addresses if it publishes or consumes; what
its kind needs (a web service its port, health check, proxies and drain time; a worker its drain
time and its queue's visibility timeout); then its own environment and secrets.

The shape is AWS's `ContainerDefinition` (the tests validate it against botocore's ECS model).
Commands are exec form so the Python process is PID 1 and receives ECS's SIGTERM itself.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, StackConfig
from infra.service_declaration import DeclaredService
from service.messaging.topology import Topology

ENVIRONMENT_NAMES = {"staging": "staging", "production": "production"}


@dataclass(frozen=True)
class ContainerInputs:
    """Everything a container definition needs, resolved (plain strings)."""

    image: str
    region: str
    environment: str
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_secret_arn: str
    secret_arns: dict[str, str]  # declared secret name -> its ARN
    log_group: str
    messaging_env: dict[str, str]  # env var -> topic ARN / queue URL
    # The proxies whose X-Forwarded-For the api believes (see trusted_proxy_ranges).
    trusted_proxies: tuple[str, ...]


def trusted_proxy_ranges(config: StackConfig, cloudfront_origin_cidrs: list[str]) -> list[str]:
    """TRUSTED_PROXIES for the api: every hop that may stand between a caller and the process.

    The ALB's nodes have addresses inside the VPC. CloudFront appends the viewer's address to
    X-Forwarded-For, and the ALB appends the address the request came from: a CloudFront
    origin-facing node, with a public ALB and with a VPC origin alike (the ALB's security group
    admits that prefix list in both modes, load_balancer.py). So CloudFront's ranges are trusted
    in both modes, and the service takes the rightmost address that is not a proxy: the
    viewer's. Trusting the VPC alone made that CloudFront node the client, one login-throttle
    key for everyone behind it (tests/platform_program/test_client_address.py). The service
    refuses to start without the setting outside local (service/core/config.py,
    missing_api_settings).
    """
    if not cloudfront_origin_cidrs:
        raise ValueError(
            "the managed prefix list com.amazonaws.global.cloudfront.origin-facing has no "
            "entries in this region; the api needs them for TRUSTED_PROXIES (the ALB appends "
            "the CloudFront node's address to X-Forwarded-For)"
        )
    return [str(config.vpc_cidr), *cloudfront_origin_cidrs]


def container_definition(
    service: DeclaredService, config: StackConfig, topology: Topology, inputs: ContainerInputs
) -> dict[str, Any]:
    name, spec = service.name, service.spec
    environment: dict[str, str] = {
        "ENVIRONMENT": inputs.environment,
        "AWS_REGION": inputs.region,
        "LOG_LEVEL": "INFO",
    }
    secrets: list[dict[str, str]] = []
    if spec.database:
        environment.update(
            {
                "DB_HOST": inputs.db_host,
                "DB_PORT": str(inputs.db_port),
                "DB_NAME": inputs.db_name,
                "DB_USER": inputs.db_user,
            }
        )
        # ECS reads the JSON key `password` of the RDS-managed secret: <arn>:<key>:<stage>:<ver>
        secrets.append({"name": "DB_PASSWORD", "valueFrom": f"{inputs.db_secret_arn}:password::"})
        if spec.long_running:
            # Long-running: read the password at each connect, so RDS's rotation (every 7 days)
            # needs no restart (service/core/db_credentials.py). The ARN is not a secret.
            environment["DB_PASSWORD_SECRET_ARN"] = inputs.db_secret_arn
    if spec.publishes or spec.consumes:
        # The service's settings read the topology's addresses together.
        environment.update(inputs.messaging_env)
    if spec.kind == "web":
        environment.update(
            {
                "HOST": "0.0.0.0",  # noqa: S104 - inside the task's own network namespace
                "PORT": str(spec.web_port),
                "GRACEFUL_SHUTDOWN_SECONDS": str(config.graceful_shutdown_seconds),
                # server processes per task (shipyard:api_processes_per_task for the api group,
                # default one per vCPU); the config checks the database connections they open.
                "WEB_CONCURRENCY": str(
                    config.api_processes
                    if spec.stack_settings == "api"
                    else max(1, service.sizing.cpu // 1024)
                ),
                "TRUSTED_PROXIES": ",".join(inputs.trusted_proxies),
            }
        )
    if spec.kind == "worker":
        environment.update(
            {
                "WORKER_SHUTDOWN_SECONDS": str(config.worker_shutdown_seconds),
                # The worker extends visibility while working; it must agree with the queue's.
                "WORKER_VISIBILITY_TIMEOUT_SECONDS": str(
                    max(topology.queue(k).visibility_timeout_seconds for k in spec.consumes)
                ),
            }
        )
    environment.update(spec.environment)
    secrets.extend({"name": s, "valueFrom": inputs.secret_arns[s]} for s in spec.secrets)

    definition: dict[str, Any] = {
        "name": name,
        "image": inputs.image,
        "essential": True,
        "command": list(spec.command),
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": secrets,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": inputs.log_group,
                "awslogs-region": inputs.region,
                "awslogs-stream-prefix": name,
                # A slow log pipe must not stall request handling.
                "mode": "non-blocking",
                "max-buffer-size": "25m",
            },
        },
        "stopTimeout": config.stop_timeout_seconds,
    }
    if spec.kind == "web":
        port, path = spec.web_port, spec.web_health_path
        definition["portMappings"] = [
            {"containerPort": port, "protocol": "tcp", "name": "http", "appProtocol": "http"}
        ]
        definition["healthCheck"] = {
            # Liveness only, the same path the target group checks: a database outage must not
            # make ECS replace every task (docs/health-checks.md).
            "command": [
                "CMD",
                "python",
                "-c",
                "import urllib.request; "
                f"urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=3)",
            ],
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 30,
        }
    return definition


@dataclass(frozen=True)
class TaskDefinitionsArgs:
    config: StackConfig
    services: dict[str, DeclaredService]
    topology: Topology
    compatibility: str
    image_ref: pulumi.Input[str]
    db_host: pulumi.Input[str]
    db_port: int
    db_name: str
    db_user: str
    db_secret_arn: pulumi.Input[str]
    secret_arns: dict[str, pulumi.Input[str]]  # secret name a declaration may use -> ARN
    log_group_names: dict[str, pulumi.Output[str]]
    messaging_env: dict[str, pulumi.Output[str]]
    # CloudFront's origin-facing CIDRs (the load balancer's prefix-list lookup).
    cloudfront_origin_cidrs: pulumi.Input[list[str]]
    execution_role_arn: pulumi.Input[str]
    task_role_arns: dict[str, pulumi.Output[str]]


class TaskDefinitions(pulumi.ComponentResource):
    arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: TaskDefinitionsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:services:TaskDefinitions", name, None, opts)
        config = args.config
        self.arns = {}
        self.definitions: dict[str, aws.ecs.TaskDefinition] = {}
        messaging = pulumi.Output.all(**args.messaging_env)
        secrets = pulumi.Output.all(**args.secret_arns)
        for role, service in args.services.items():
            sizing = service.sizing
            container_json = pulumi.Output.all(
                image=args.image_ref,
                db_host=args.db_host,
                db_secret=args.db_secret_arn,
                secrets=secrets,
                log_group=args.log_group_names[role],
                messaging=messaging,
                cloudfront=args.cloudfront_origin_cidrs,
            ).apply(functools.partial(self._container_json, service, config, args))
            definition = aws.ecs.TaskDefinition(
                f"{name}-{role}",
                family=f"{config.prefix}-{role}",
                cpu=str(sizing.cpu),
                memory=str(sizing.memory),
                network_mode="awsvpc",
                requires_compatibilities=[args.compatibility],
                runtime_platform={
                    "operating_system_family": "LINUX",
                    "cpu_architecture": config.cpu_architecture,
                },
                execution_role_arn=args.execution_role_arn,
                task_role_arn=args.task_role_arns.get(role),
                container_definitions=container_json,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.definitions[role] = definition
            self.arns[role] = definition.arn
        self.register_outputs({"arns": self.arns})

    @staticmethod
    def _container_json(
        service: DeclaredService, config: StackConfig, args: TaskDefinitionsArgs, v: dict[str, Any]
    ) -> str:
        """The task definition's container list, once every input it needs is known."""
        inputs = ContainerInputs(
            image=service.spec.image or v["image"],
            region=config.region,
            environment=ENVIRONMENT_NAMES[config.environment],
            db_host=v["db_host"],
            db_port=args.db_port,
            db_name=args.db_name,
            db_user=args.db_user,
            db_secret_arn=v["db_secret"],
            secret_arns=dict(v["secrets"]),
            log_group=v["log_group"],
            messaging_env=dict(v["messaging"]),
            trusted_proxies=tuple(trusted_proxy_ranges(config, list(v["cloudfront"]))),
        )
        return json.dumps([container_definition(service, config, args.topology, inputs)])
