"""Scheduled tasks: EventBridge Scheduler starts a declared `scheduled` service with ECS RunTask.

Each schedule has its own role that EventBridge Scheduler assumes (Scheduler User Guide, "Set up
the execution role"; its ECS RunTask target, "Use templated targets"): `ecs:RunTask` on that
task's family only, in this cluster only (condition `ecs:cluster`), `iam:PassRole` on exactly the
roles the task runs with (its execution role and its own task role, if it has one) and only to
ECS tasks, and `ecs:TagResource` for the tags ECS adds at launch. Nothing else: a schedule cannot
start another task or hand a task another role.

The task runs like the deploy's migration: private subnets, its own security group, no public
address, on the cluster's capacity providers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, StackConfig
from infra.iam_documents import allow, document, service_trust
from infra.service_declaration import DeclaredService

# A run may start late by up to this much: spreads simultaneous schedules instead of a burst.
FLEXIBLE_WINDOW_MINUTES = 5


@dataclass(frozen=True)
class ScheduledTasksArgs:
    config: StackConfig
    services: dict[str, DeclaredService]  # only the `scheduled` ones are read
    account_id: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    capacity_provider_strategy: list[Any]
    private_subnet_ids: list[pulumi.Output[str]]
    security_group_ids: dict[str, pulumi.Output[str]]
    task_definitions: dict[str, aws.ecs.TaskDefinition]
    execution_role_arn: pulumi.Input[str]
    task_role_arns: dict[str, pulumi.Output[str]]


class ScheduledTasks(pulumi.ComponentResource):
    schedule_names: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: ScheduledTasksArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:services:ScheduledTasks", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        self.schedule_names = {}
        for key, service in args.services.items():
            if service.spec.kind != "scheduled":
                continue
            definition = args.task_definitions[key]
            passed_roles: list[pulumi.Input[str]] = [args.execution_role_arn]
            if key in args.task_role_arns:
                passed_roles.append(args.task_role_arns[key])
            role = aws.iam.Role(
                f"{name}-{key}",
                # The service's own prefix (its length is checked by the declaration's rules).
                name_prefix=f"{config.prefix}-{key}-",
                # Only schedules of this account may assume it (confused-deputy guard).
                assume_role_policy=service_trust(
                    "scheduler.amazonaws.com",
                    {"StringEquals": {"aws:SourceAccount": args.account_id}},
                ),
                description=f"EventBridge Scheduler starts the {key} task, and nothing else",
                opts=child,
            )
            aws.iam.RolePolicy(
                f"{name}-{key}",
                role=role.id,
                policy=document(
                    allow(
                        "RunThisTaskInThisCluster",
                        ["ecs:RunTask"],
                        [pulumi.Output.concat(definition.arn_without_revision, ":*")],
                        {"ArnEquals": {"ecs:cluster": args.cluster_arn}},
                    ),
                    allow(
                        "PassThisTasksRoles",
                        ["iam:PassRole"],
                        passed_roles,
                        {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                    ),
                    # RunTask with tags (managed tags, propagated tags) needs TagResource too.
                    allow(
                        "TagTheTasksItStarts",
                        ["ecs:TagResource"],
                        "*",
                        {"StringEquals": {"ecs:CreateAction": "RunTask"}},
                    ),
                ),
                opts=child,
            )
            schedule = aws.scheduler.Schedule(
                f"{name}-{key}",
                name=f"{config.prefix}-{key}",
                description=f"runs the {key} task: {' '.join(service.spec.command)}",
                schedule_expression=service.spec.schedule,
                schedule_expression_timezone="UTC",
                flexible_time_window={
                    "mode": "FLEXIBLE",
                    "maximum_window_in_minutes": FLEXIBLE_WINDOW_MINUTES,
                },
                target={
                    "arn": args.cluster_arn,
                    "role_arn": role.arn,
                    "ecs_parameters": {
                        "task_definition_arn": definition.arn,
                        "task_count": 1,
                        "capacity_provider_strategies": [
                            {
                                "capacity_provider": s["capacity_provider"],
                                "weight": s.get("weight"),
                                "base": s.get("base"),
                            }
                            for s in args.capacity_provider_strategy
                        ],
                        "network_configuration": {
                            "subnets": args.private_subnet_ids,
                            "security_groups": [args.security_group_ids[key]],
                            "assign_public_ip": False,
                        },
                        "enable_ecs_managed_tags": True,
                        "propagate_tags": "TASK_DEFINITION",
                    },
                    # A run that fails to start is retried, then dropped (no dead-letter queue:
                    # the next run comes at the next schedule).
                    "retry_policy": {
                        "maximum_event_age_in_seconds": 3600,
                        "maximum_retry_attempts": 3,
                    },
                },
                opts=child,
            )
            self.schedule_names[key] = schedule.name
        self.register_outputs({"schedule_names": self.schedule_names})
