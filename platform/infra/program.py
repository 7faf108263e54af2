"""The whole stack, composed from its building blocks; returns the stack outputs.

Read top to bottom, this is the architecture: network, registry and image (and its optional
Docker Hub copy), secrets, database, messaging, compute, load balancer, observability, functions
and operator alerts, IAM, task definitions, services, scheduled tasks, edge, site upload. The
application's services come from their declaration (services.yaml, infra/service_declaration.py):
nothing below names one of them. The CI roles are not
here: the bootstrap (`platform/bootstrap/`) owns them, so a bad `up` cannot lock CI out.
`platform/__main__.py` calls `build` and exports what it returns.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from infra.app_secrets import AppSecrets, AppSecretsArgs
from infra.compute import Compute, ComputeArgs
from infra.config import StackConfig, check_database_identifier
from infra.database import Database, DatabaseArgs
from infra.docker_hub import DockerHubMirror, DockerHubMirrorArgs
from infra.edge import Edge, EdgeArgs
from infra.functions import Functions, FunctionsArgs
from infra.load_balancer import LoadBalancer, LoadBalancerArgs
from infra.messaging import Messaging, MessagingArgs
from infra.network import Network, NetworkArgs
from infra.observability import Observability, ObservabilityArgs
from infra.operator_alerts import OperatorAlerts, OperatorAlertsArgs, operators_topic_of
from infra.paths import REPO_ROOT
from infra.registry import Registry, RegistryArgs
from infra.scheduled_tasks import ScheduledTasks, ScheduledTasksArgs
from infra.security_groups import TaskSecurityGroups, TaskSecurityGroupsArgs
from infra.service_declaration import Declaration, load_declaration, resolve
from infra.services import Services, ServicesArgs, service_names
from infra.stateful import protect_stateful_resources
from infra.task_definitions import TaskDefinitions, TaskDefinitionsArgs
from infra.task_roles import TaskRoles, TaskRolesArgs
from infra.web_assets import WebAssets, WebAssetsArgs
from service.messaging.topology import TOPOLOGY, Topology

# Every output name below is a contract: CI, scripts/deploy and the rehearsal read them.
OUTPUT_NAMES = (
    "url",
    "cluster_name",
    "image_ref",
    "queue_urls",
    "topic_arns",
    "web_bucket_name",
    "distribution_id",
    "log_group_names",
    "functions",
    "dockerhub_image",
    # Every declared service by name: kind, task definition, log group, and its ECS service or
    # schedule (docs/adapting.md). The deploy scripts address services through it only
    # (scripts/deploy/stack_outputs.py): they run every task and verify every web and worker.
    "services",
)


def bound_every_role(boundary_arn: str) -> pulumi.ResourceTransformation:
    """Every IAM role this stack creates carries the bootstrap's workload boundary.

    The CI deploy role may only create roles that carry it (its own boundary says so), so it is
    set here once, for all building blocks, rather than in each of them.
    """

    def transform(
        args: pulumi.ResourceTransformationArgs,
    ) -> pulumi.ResourceTransformationResult | None:
        if args.type_ != "aws:iam/role:Role":
            return None  # unchanged
        props = {**args.props, "permissions_boundary": boundary_arn}
        return pulumi.ResourceTransformationResult(props=props, opts=args.opts)

    return transform


def build(
    config: StackConfig, topology: Topology = TOPOLOGY, declaration: Declaration | None = None
) -> dict[str, Any]:
    # A bad project name or declaration stops here, before the first resource, naming them.
    check_database_identifier(REPO_ROOT)
    declaration = declaration or load_declaration(topology)
    declared = resolve(declaration, config)
    webs = declaration.of_kind("web")
    # The topology with the declared functions (services.yaml's kind: function).
    topology = declaration.with_functions(topology)
    operators_topic = operators_topic_of(topology, config)
    if config.protect_stateful:
        # Before the first resource: a stack transformation only sees resources declared after it.
        pulumi.runtime.register_stack_transformation(protect_stateful_resources)
    if config.workload_boundary_arn:
        pulumi.runtime.register_stack_transformation(bound_every_role(config.workload_boundary_arn))
    account_id = aws.get_caller_identity_output().account_id

    network = Network("network", NetworkArgs(config=config))
    registry = Registry("registry", RegistryArgs(config=config))
    dockerhub = (
        DockerHubMirror(
            "dockerhub",
            DockerHubMirrorArgs(config=config, built_image_name=registry.built_image_name),
        )
        if config.dockerhub_repository
        else None
    )
    secrets = AppSecrets("secrets", AppSecretsArgs(config=config))
    database = Database(
        "database",
        DatabaseArgs(config=config, vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids),
    )
    messaging = Messaging("messaging", MessagingArgs(config=config, topology=topology))
    compute = Compute(
        "compute",
        ComputeArgs(
            config=config, vpc_id=network.vpc_id, private_subnet_ids=network.private_subnet_ids
        ),
    )
    load_balancer = LoadBalancer(
        "load-balancer",
        LoadBalancerArgs(
            config=config,
            services=declared,
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            private_subnet_ids=network.private_subnet_ids,
        ),
    )
    security_groups = TaskSecurityGroups(
        "task-security-groups",
        TaskSecurityGroupsArgs(
            config=config,
            services=declared,
            vpc_id=network.vpc_id,
            load_balancer_security_group_id=load_balancer.security_group_id,
        ),
    )
    for role, group_id in security_groups.ids.items():
        if declared[role].spec.database:
            database.admit(role, group_id)

    names = service_names(config, declared)
    observability = Observability(
        "observability",
        ObservabilityArgs(
            config=config,
            log_groups=tuple(declared),
            cluster_name=config.prefix,
            service_names=names,
            load_balancer_arn_suffix=load_balancer.arn_suffix,
            web_target_groups={
                key: [group.arn_suffix for group in route.target_groups]
                for key, route in load_balancer.routes.items()
            },
            queue_names=messaging.queue_names,
            dead_letter_queue_names=messaging.dead_letter_queue_names,
            account_id=account_id,
        ),
    )
    functions = Functions(
        "functions",
        FunctionsArgs(
            config=config,
            topology=topology,
            topic_arns=messaging.topic_arns,
            alarm_topic_arn=observability.alerts_topic_arn,
            reserved_concurrency=declaration.reserved_concurrency(config),
        ),
    )
    if operators_topic is not None:
        OperatorAlerts(
            # A fixed logical name, whatever the topic: its subscriptions' URNs derive from it.
            "operator-alerts",
            OperatorAlertsArgs(
                topic_arn=messaging.topic_arns[operators_topic],
                emails=config.alert_emails,
                sms_numbers=config.alert_sms_numbers,
            ),
        )
    task_roles = TaskRoles(
        "task-roles",
        TaskRolesArgs(
            services=declared,
            prefix=config.prefix,
            account_id=account_id,
            region=config.region,
            pull_repository_arns=registry.pull_repository_arns,
            log_group_arns=list(observability.log_group_arns.values()),
            secret_arns=[database.master_secret_arn, secrets.jwt_secret_arn],
            topic_arns=messaging.topic_arns,
            queue_arns=messaging.queue_arns,
            database_secret_arn=database.master_secret_arn,
        ),
    )
    messaging_env: dict[str, pulumi.Output[str]] = {}
    for topic in topology.topics:
        messaging_env[topic.env_var] = messaging.topic_arns[topic.key]
    for queue in topology.queues:
        if queue.env_var:
            messaging_env[queue.env_var] = messaging.queue_urls[queue.key]
    task_definitions = TaskDefinitions(
        "task-definitions",
        TaskDefinitionsArgs(
            config=config,
            services=declared,
            topology=topology,
            compatibility=compute.launch_compatibility,
            image_ref=registry.image_ref,
            db_host=database.address,
            db_port=database.port,
            db_name=database.name,
            db_user=database.username,
            db_secret_arn=database.master_secret_arn,
            secret_arns={"JWT_SECRET": secrets.jwt_secret_arn},
            log_group_names=observability.log_group_names,
            messaging_env=messaging_env,
            cloudfront_origin_cidrs=load_balancer.cloudfront_origin_cidrs,
            execution_role_arn=task_roles.execution_role_arn,
            task_role_arns=task_roles.task_role_arns,
        ),
    )
    services = Services(
        "services",
        ServicesArgs(
            config=config,
            services=declared,
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            cluster_arn=compute.cluster_arn,
            cluster_name=compute.cluster_name,
            capacity_provider_strategy=compute.capacity_provider_strategy,
            capacity_providers=compute.capacity_providers,
            task_definition_arns=task_definitions.arns,
            security_group_ids=security_groups.ids,
            load_balancer=load_balancer,
            deployment_alarm_names=observability.deployment_alarm_names,
            queue_names=messaging.queue_names,
        ),
    )
    scheduled = ScheduledTasks(
        "scheduled-tasks",
        ScheduledTasksArgs(
            config=config,
            services=declared,
            account_id=account_id,
            cluster_arn=compute.cluster_arn,
            capacity_provider_strategy=compute.capacity_provider_strategy,
            private_subnet_ids=network.private_subnet_ids,
            security_group_ids=security_groups.ids,
            task_definitions=task_definitions.definitions,
            execution_role_arn=task_roles.execution_role_arn,
            task_role_arns=task_roles.task_role_arns,
        ),
    )
    edge = Edge(
        "edge",
        EdgeArgs(
            config=config,
            load_balancer=load_balancer,
            web_paths=tuple(path for web in webs.values() for path in web.paths),
        ),
    )
    WebAssets("web-assets", WebAssetsArgs(bucket_name=edge.bucket_name))

    def network_of(service: str) -> dict[str, Any]:
        """What `aws ecs run-task --network-configuration awsvpcConfiguration={...}` needs."""
        return {
            "subnets": network.private_subnet_ids,
            "security_groups": [security_groups.ids[service]],
        }

    return {
        "url": edge.url,
        "cluster_name": compute.cluster_name,
        "image_ref": registry.image_ref,
        "services": {
            key: {
                "kind": service.spec.kind,
                "task_definition_arn": task_definitions.arns[key],
                "log_group_name": observability.log_group_names[key],
                "service_name": services.by_name[key].name if key in services.by_name else None,
                "schedule_name": scheduled.schedule_names.get(key),
                "network": network_of(key),
                # A web service's: the URL patterns CloudFront and the ALB send it.
                **({"paths": list(service.spec.paths)} if service.spec.kind == "web" else {}),
            }
            for key, service in declared.items()
        },
        "queue_urls": messaging.queue_urls,
        "topic_arns": messaging.topic_arns,
        "web_bucket_name": edge.bucket_name,
        "distribution_id": edge.distribution_id,
        "log_group_names": observability.log_group_names,
        # Where to look when an operator alert is missing: the function, its logs, its failures.
        "functions": {
            key: {
                "name": functions.function_names[key],
                "log_group_name": functions.log_group_names[key],
                "failed_invocations_queue_url": functions.failed_invocations_queue_urls[key],
            }
            for key in functions.function_names
        },
        "dockerhub_image": dockerhub.image_name if dockerhub else None,
    }
