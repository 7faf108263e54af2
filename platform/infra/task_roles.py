"""IAM for the tasks: one execution role (what ECS does for a task) and one role per service.

Least privilege, derived from each service's declaration (services.yaml):
- execution role: pull from its ECR repository, write its log groups, read exactly the secrets it
  injects (the RDS-managed database secret and the JWT secret). Nothing else.
- a service's task role: `sns:Publish` on the topics it declares under `publishes`, receive/
  delete/change-visibility on the queues under `consumes`, and, for a long-running service that
  uses the database, reading the RDS-managed secret (it outlives the rotation and reads the
  password at each new connection, service/core/db_credentials.py).
- a service with none of these (the demo's migrations, which talk only to PostgreSQL) runs
  without a task role.
tests/iam_behaviour runs the real processes with exactly these grants and fails when one is
missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT
from infra.iam_documents import allow, document, service_trust
from infra.service_declaration import DeclaredService

CONSUMER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility")


@dataclass(frozen=True)
class TaskRolesArgs:
    services: dict[str, DeclaredService]
    prefix: str  # role names start with it: the deploy role may manage only those
    account_id: pulumi.Input[str]
    region: str
    pull_repository_arns: list[pulumi.Input[str]]
    log_group_arns: list[pulumi.Input[str]]
    secret_arns: list[pulumi.Input[str]]
    topic_arns: dict[str, pulumi.Output[str]]
    queue_arns: dict[str, pulumi.Output[str]]
    # The RDS-managed master secret: the long-running processes read it at each connect.
    database_secret_arn: pulumi.Input[str]


def reads_database_secret(service: DeclaredService) -> bool:
    """Processes that outlive a password rotation read the database secret themselves."""
    return service.spec.database and service.spec.long_running


class TaskRoles(pulumi.ComponentResource):
    execution_role_arn: pulumi.Output[str]
    task_role_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: TaskRolesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:iam:TaskRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Only tasks of this account may assume these roles (confused-deputy guard).
        trust = service_trust(
            "ecs-tasks.amazonaws.com", {"StringEquals": {"aws:SourceAccount": args.account_id}}
        )

        execution = aws.iam.Role(
            f"{name}-execution",
            name_prefix=f"{args.prefix}-execution-",
            assume_role_policy=trust,
            description="ECS task execution: pull the image, write logs, inject two secrets",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-execution",
            role=execution.id,
            policy=document(
                # GetAuthorizationToken has no resource-level permissions: "*" is its only form.
                allow("EcrLogin", ["ecr:GetAuthorizationToken"], "*"),
                allow(
                    "PullServiceImage",
                    [
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchCheckLayerAvailability",
                    ],
                    args.pull_repository_arns,
                ),
                allow(
                    "WriteOwnLogs",
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    [pulumi.Output.concat(arn, ":*") for arn in args.log_group_arns],
                ),
                allow("ReadOwnSecrets", ["secretsmanager:GetSecretValue"], args.secret_arns),
            ),
            opts=child,
        )
        self.execution_role_arn = execution.arn

        self.task_role_arns = {}
        for role, service in args.services.items():
            publishes, consumes = service.spec.publishes, service.spec.consumes
            if not (publishes or consumes or reads_database_secret(service)):
                continue  # nothing to grant: no task role at all
            task_role = aws.iam.Role(
                f"{name}-{role}",
                name_prefix=f"{args.prefix}-{role}-",
                assume_role_policy=trust,
                description=f"the {role} process: its own topics and queues only",
                opts=child,
            )
            statements = []
            if reads_database_secret(service):
                statements.append(
                    allow(
                        "ReadRotatingDatabasePassword",
                        ["secretsmanager:GetSecretValue"],
                        [args.database_secret_arn],
                    )
                )
            if publishes:
                statements.append(
                    allow(
                        "PublishOwnTopics", ["sns:Publish"], [args.topic_arns[k] for k in publishes]
                    )
                )
            if consumes:
                statements.append(
                    allow(
                        "ConsumeOwnQueues",
                        list(CONSUMER_ACTIONS),
                        [args.queue_arns[k] for k in consumes],
                    )
                )
            aws.iam.RolePolicy(
                f"{name}-{role}", role=task_role.id, policy=document(*statements), opts=child
            )
            self.task_role_arns[role] = task_role.arn

        self.register_outputs({"execution_role_arn": self.execution_role_arn})
