"""ECS services: each declared web service behind the ALB, and each worker without one, deployed
without dropping a request (services.yaml declares them; the numbers below are the demo's `api`).

Each web service has its own target group(s) and listener rule (load_balancer.py), its own
deployment alarms (observability.py: a bad release of one never rolls back another), and scales
on its own CPU and, when rolling, on the requests per task of its own target group. Under
blue/green they share one IAM role that lets ECS rewrite their rules' weights.

The rollout arithmetic (defaults; each number is a stack setting or a constant in
load_balancer.py, and config.py refuses combinations that break the inequalities):

  start of a new api task   cold start (~10-20 s) + healthy after 2 checks x 10 s = ~30-40 s,
                            inside health_check_grace_period_seconds (60 s), so ECS never kills a
                            task for failing checks while it is still starting.
  traffic moves             ECS registers the new task, waits until the target is healthy, then
                            deregisters an old one: the ALB stops sending it new requests at once.
  old task drains           deregistration_delay_seconds (20 s) > the longest API request, so
                            in-flight requests finish before ECS sends SIGTERM.
  old task stops            SIGTERM -> the server finishes stragglers within
                            GRACEFUL_SHUTDOWN_SECONDS (20 s) < stopTimeout (30 s) -> exits; SIGKILL
                            at stopTimeout never hits a request. The worker finishes its batch
                            within WORKER_SHUTDOWN_SECONDS (20 s) < stopTimeout, and a message it
                            could not finish reappears after the queue's visibility timeout.
  per rollout               minimum healthy 100 % + maximum 200 % start the whole new set at once:
                            ~40 s to healthy + 20 s drain + a few s to stop = ~1-1.5 minutes,
                            capacity never below the desired count.
  when it goes wrong        the circuit breaker stops and rolls back tasks that fail to start;
                            the 5xx / p95 alarms roll back a release that starts but misbehaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.config import (
    DEPLOYMENT_MAXIMUM_PERCENT,
    PROJECT,
    SERVICE_ROLLOUT_WAIT_MINUTES,
    StackConfig,
)
from infra.load_balancer import LoadBalancer
from infra.service_declaration import DeclaredService

# AWS keeps this managed policy at path `/` (not `/service-role/`, where some ECS policies live);
# a wrong path fails the attachment with NoSuchEntity at `pulumi up` only. tests/platform_program/
# test_managed_policies.py checks every managed ARN against AWS's list.
ECS_LOAD_BALANCER_POLICY = (
    "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
)


def service_names(config: StackConfig, services: dict[str, DeclaredService]) -> dict[str, str]:
    """The ECS service name of each long-running service (fixed, so alarms can precede them)."""
    return {name: f"{config.prefix}-{name}" for name, s in services.items() if s.spec.long_running}


def deployment_settings(config: StackConfig, *, behind_load_balancer: bool) -> dict[str, Any]:
    """Keyword arguments of aws.ecs.Service that decide how a new revision replaces the old."""
    blue_green = behind_load_balancer and config.deployment_strategy == "blue_green"
    settings: dict[str, Any] = {
        "deployment_minimum_healthy_percent": 100,
        # The connection check (config.py, _db_connections) counts this overlap.
        "deployment_maximum_percent": DEPLOYMENT_MAXIMUM_PERCENT,
        "deployment_circuit_breaker": {"enable": True, "rollback": True},
        "deployment_configuration": (
            # ECS's native blue/green: the whole green set starts, takes production traffic, and
            # blue is kept for the bake time so a rollback is one weight flip away.
            {"strategy": "BLUE_GREEN", "bake_time_in_minutes": str(config.blue_green_bake_minutes)}
            if blue_green
            else {"strategy": "ROLLING"}
        ),
    }
    return settings


def service_wait(config: StackConfig, *, behind_load_balancer: bool) -> pulumi.CustomTimeouts:
    """How long `pulumi up` waits for a service to reach a steady state (wait_for_steady_state).

    A blue/green deployment is steady only after its bake time, so the bake comes on top of the
    provider's default rollout wait; config.py refuses a bake the deploy job cannot wait for.
    """
    minutes = SERVICE_ROLLOUT_WAIT_MINUTES
    if behind_load_balancer and config.deployment_strategy == "blue_green":
        minutes += config.blue_green_bake_minutes
    return pulumi.CustomTimeouts(create=f"{minutes}m", update=f"{minutes}m")


@dataclass(frozen=True)
class ServicesArgs:
    config: StackConfig
    services: dict[str, DeclaredService]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: list[pulumi.Output[str]]
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    capacity_provider_strategy: list[
        aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgsDict
    ]
    capacity_providers: pulumi.Resource  # the cluster's capacity-provider association
    task_definition_arns: dict[str, pulumi.Output[str]]
    security_group_ids: dict[str, pulumi.Output[str]]
    load_balancer: LoadBalancer
    # Per web service: the alarms that roll back its deployments.
    deployment_alarm_names: dict[str, list[pulumi.Output[str]]]
    queue_names: dict[str, str]  # topology key -> physical name: a worker scales on its backlog


class Services(pulumi.ComponentResource):
    by_name: dict[str, aws.ecs.Service]  # every long-running service
    names: dict[str, str]

    def __init__(
        self, name: str, args: ServicesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:services:Services", name, None, opts)
        config = args.config
        self.names = service_names(config, args.services)
        lb = args.load_balancer
        webs = [s for s in args.services.values() if s.spec.kind == "web"]
        workers = [s for s in args.services.values() if s.spec.kind == "worker"]

        # Blue/green: one role, shared by every web service, lets ECS shift their rules' weights.
        ecs_lb_role: aws.iam.Role | None = None
        ecs_lb_policy: aws.iam.RolePolicyAttachment | None = None
        if config.deployment_strategy == "blue_green" and webs:
            ecs_lb_role = aws.iam.Role(
                f"{name}-ecs-lb",
                name_prefix=f"{config.prefix}-ecs-lb-",
                assume_role_policy=pulumi.Output.json_dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "ecs.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                ),
                description="lets ECS shift ALB listener-rule weights during blue/green deploys",
                opts=pulumi.ResourceOptions(parent=self),
            )
            ecs_lb_policy = aws.iam.RolePolicyAttachment(
                f"{name}-ecs-lb",
                role=ecs_lb_role.name,
                policy_arn=ECS_LOAD_BALANCER_POLICY,
                opts=pulumi.ResourceOptions(parent=self),
            )

        common: dict[str, Any] = {
            "cluster": args.cluster_arn,
            "capacity_provider_strategies": args.capacity_provider_strategy,
            "propagate_tags": "SERVICE",
            "enable_ecs_managed_tags": True,
            # `pulumi up` waits for the rollout to settle, so a failed deploy fails the job.
            "wait_for_steady_state": True,
        }
        # Autoscaling owns the running count after the first deploy; Pulumi must not reset it.
        # Both services come after the cluster's capacity-provider association on create, and
        # go before it on destroy (ECS refuses either the other way round).
        keep_count = pulumi.ResourceOptions(
            parent=self, ignore_changes=["desiredCount"], depends_on=[args.capacity_providers]
        )

        def private_network(service: str) -> aws.ecs.ServiceNetworkConfigurationArgs:
            # Every task in the private subnets, behind its own security group, no public address.
            return aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.private_subnet_ids,
                security_groups=[args.security_group_ids[service]],
                assign_public_ip=False,
            )

        self.by_name = {}
        for web in webs:
            route = lb.routes[web.name]
            # Resources ECS needs in place before the web service exists: ECS refuses a target
            # group that no listener forwards to yet.
            needs: list[pulumi.Resource] = [route.forward_rule]
            load_balancer: aws.ecs.ServiceLoadBalancerArgsDict = {
                "target_group_arn": route.target_group.arn,
                "container_name": web.name,
                "container_port": web.spec.web_port,
            }
            if route.alternate_target_group is not None and ecs_lb_role and ecs_lb_policy:
                load_balancer["advanced_configuration"] = {
                    "alternate_target_group_arn": route.alternate_target_group.arn,
                    "production_listener_rule": route.forward_rule.arn,
                    "role_arn": ecs_lb_role.arn,
                }
                # The service names only the role; without this it may be created the moment
                # the role exists, before the policy is attached (and IAM has propagated it), and
                # ECS then cannot shift the listener rule on the first blue/green deployment.
                needs.append(ecs_lb_policy)
            self.by_name[web.name] = aws.ecs.Service(
                f"{name}-{web.name}",
                name=self.names[web.name],
                task_definition=args.task_definition_arns[web.name],
                desired_count=web.sizing.min_tasks,
                network_configuration=private_network(web.name),
                load_balancers=[load_balancer],
                health_check_grace_period_seconds=config.health_check_grace_period_seconds,
                alarms={
                    "alarm_names": args.deployment_alarm_names[web.name],
                    "enable": True,
                    "rollback": True,
                },
                tags={"environment": config.environment, "role": web.name},
                opts=pulumi.ResourceOptions.merge(
                    keep_count,
                    pulumi.ResourceOptions(
                        depends_on=needs,
                        custom_timeouts=service_wait(config, behind_load_balancer=True),
                    ),
                ),
                **deployment_settings(config, behind_load_balancer=True),
                **common,
            )
        # A worker has no traffic to shift, so it always rolls (blue/green needs a listener).
        for worker in workers:
            self.by_name[worker.name] = aws.ecs.Service(
                f"{name}-{worker.name}",
                name=self.names[worker.name],
                task_definition=args.task_definition_arns[worker.name],
                desired_count=worker.sizing.min_tasks,
                network_configuration=private_network(worker.name),
                tags={"environment": config.environment, "role": worker.name},
                opts=pulumi.ResourceOptions.merge(
                    keep_count,
                    pulumi.ResourceOptions(
                        custom_timeouts=service_wait(config, behind_load_balancer=False)
                    ),
                ),
                **deployment_settings(config, behind_load_balancer=False),
                **common,
            )
        for web in webs:
            self._web_scaling(name, config, args, web)
        for worker in workers:
            self._worker_scaling(name, config, args, worker)
        self.register_outputs({"names": {k: v.name for k, v in self.by_name.items()}})

    def _target(self, name: str, args: ServicesArgs, service: DeclaredService) -> Any:
        return aws.appautoscaling.Target(
            f"{name}-{service.name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat(
                "service/", args.cluster_name, "/", self.by_name[service.name].name
            ),
            min_capacity=service.sizing.min_tasks,
            max_capacity=service.sizing.max_tasks,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _web_scaling(
        self, name: str, config: StackConfig, args: ServicesArgs, web: DeclaredService
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        lb = args.load_balancer
        route = lb.routes[web.name]
        web_target = self._target(name, args, web)
        aws.appautoscaling.Policy(
            f"{name}-{web.name}-cpu",
            policy_type="TargetTrackingScaling",
            service_namespace=web_target.service_namespace,
            scalable_dimension=web_target.scalable_dimension,
            resource_id=web_target.resource_id,
            # The stack files' api_* scaling targets hold for every web service (per-service
            # targets would be a declaration field; none has needed one yet).
            target_tracking_scaling_policy_configuration={
                "target_value": web.scaling.cpu_target_percent,
                "predefined_metric_specification": {
                    "predefined_metric_type": "ECSServiceAverageCPUUtilization"
                },
                "scale_out_cooldown": 60,
                "scale_in_cooldown": 300,  # scale in slowly: each step drains connections
            },
            opts=child,
        )
        if route.alternate_target_group is None:
            # Requests per target is measured on one target group; under blue/green the serving
            # group alternates, so there CPU alone drives the service's scaling.
            aws.appautoscaling.Policy(
                f"{name}-{web.name}-requests",
                policy_type="TargetTrackingScaling",
                service_namespace=web_target.service_namespace,
                scalable_dimension=web_target.scalable_dimension,
                resource_id=web_target.resource_id,
                target_tracking_scaling_policy_configuration={
                    "target_value": web.scaling.requests_per_task_target,
                    "predefined_metric_specification": {
                        "predefined_metric_type": "ALBRequestCountPerTarget",
                        "resource_label": pulumi.Output.concat(
                            lb.arn_suffix, "/", route.target_group.arn_suffix
                        ),
                    },
                    "scale_out_cooldown": 60,
                    "scale_in_cooldown": 300,
                },
                opts=child,
            )

    def _worker_scaling(
        self, name: str, config: StackConfig, args: ServicesArgs, worker: DeclaredService
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        worker_target = self._target(name, args, worker)
        # The queue it is fed by (its first `consumes`): its backlog per task drives the count.
        work_queue_name = args.queue_names[worker.spec.consumes[0]]
        # Backlog per task = visible messages / running workers, kept near the target: the AWS-
        # recommended way to scale a queue consumer (queue depth alone ignores the fleet size).
        aws.appautoscaling.Policy(
            f"{name}-{worker.name}-backlog",
            policy_type="TargetTrackingScaling",
            service_namespace=worker_target.service_namespace,
            scalable_dimension=worker_target.scalable_dimension,
            resource_id=worker_target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": worker.scaling.backlog_per_task_target,
                "scale_out_cooldown": 60,
                "scale_in_cooldown": 300,
                "customized_metric_specification": {
                    "metrics": [
                        {
                            "id": "visible",
                            "return_data": False,
                            "metric_stat": {
                                "stat": "Average",
                                "metric": {
                                    "namespace": "AWS/SQS",
                                    "metric_name": "ApproximateNumberOfMessagesVisible",
                                    "dimensions": [{"name": "QueueName", "value": work_queue_name}],
                                },
                            },
                        },
                        {
                            "id": "tasks",
                            "return_data": False,
                            "metric_stat": {
                                "stat": "Average",
                                "metric": {
                                    "namespace": "ECS/ContainerInsights",
                                    "metric_name": "RunningTaskCount",
                                    "dimensions": [
                                        {"name": "ClusterName", "value": args.cluster_name},
                                        {
                                            "name": "ServiceName",
                                            "value": self.by_name[worker.name].name,
                                        },
                                    ],
                                },
                            },
                        },
                        {
                            "id": "backlog_per_task",
                            "label": "messages per running worker",
                            "expression": "visible / IF(tasks > 0, tasks, 1)",
                            "return_data": True,
                        },
                    ]
                },
            },
            opts=child,
        )
