"""Database: RDS PostgreSQL in private subnets, encrypted, backed up, password kept by RDS itself.

`manage_master_user_password` makes RDS create and rotate the master password in Secrets Manager;
the program never sees it, and ECS injects it into containers as DB_PASSWORD (`<arn>:password::`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, StackConfig, database_identifier

# The database and its master user, named after the project (config.database_identifier).
DB_NAME = DB_USER = database_identifier(PROJECT)
DB_PORT = 5432


@dataclass(frozen=True)
class DatabaseArgs:
    config: StackConfig
    vpc_id: pulumi.Input[str]
    subnet_ids: list[pulumi.Output[str]]


class Database(pulumi.ComponentResource):
    address: pulumi.Output[str]
    port: int
    name: str
    username: str
    master_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:database:Database", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            description=f"private subnets of {config.prefix}",
            opts=child,
        )
        self._security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="PostgreSQL: ingress only from the task security groups",
            tags={"Name": f"{config.prefix}-db"},
            opts=child,
        )
        self._name = name

        instance = aws.rds.Instance(
            f"{name}-postgres",
            identifier=f"{config.prefix}-postgres",
            engine="postgres",
            engine_version=config.db_engine_version,
            instance_class=config.db_instance_class,
            allocated_storage=config.db_allocated_storage_gb,
            max_allocated_storage=config.db_max_allocated_storage_gb,  # storage autoscaling
            storage_type="gp3",
            storage_encrypted=True,
            db_name=DB_NAME,
            username=DB_USER,
            port=DB_PORT,
            manage_master_user_password=True,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[self._security_group.id],
            publicly_accessible=False,
            multi_az=config.db_multi_az,
            deletion_protection=config.db_deletion_protection,
            backup_retention_period=config.db_backup_retention_days,
            copy_tags_to_snapshot=True,
            # A protected database also keeps a final snapshot; an unprotected (staging) one can
            # be destroyed without leaving snapshots behind.
            skip_final_snapshot=not config.db_deletion_protection,
            final_snapshot_identifier=(
                f"{config.prefix}-postgres-final" if config.db_deletion_protection else None
            ),
            auto_minor_version_upgrade=True,
            # Changes wait for the maintenance window instead of restarting the database mid-day.
            apply_immediately=False,
            enabled_cloudwatch_logs_exports=["postgresql"],
            tags={"environment": config.environment},
            opts=child,
        )
        self.address = instance.address
        self.port = DB_PORT
        self.name = DB_NAME
        self.username = DB_USER
        self.master_secret_arn = instance.master_user_secrets.apply(_managed_secret_arn)
        self.security_group_id = self._security_group.id
        self.register_outputs({"address": self.address, "secret_arn": self.master_secret_arn})

    def admit(self, client: str, security_group_id: pulumi.Input[str]) -> None:
        """Let one task security group reach PostgreSQL (and nothing else)."""
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-from-{client}",
            security_group_id=self._security_group.id,
            description=f"PostgreSQL from the {client} tasks",
            ip_protocol="tcp",
            from_port=DB_PORT,
            to_port=DB_PORT,
            referenced_security_group_id=security_group_id,
            opts=pulumi.ResourceOptions(parent=self),
        )


def _managed_secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret]) -> str:
    """The ARN of the master password's secret, which RDS manages (manage_master_user_password)."""
    if not secrets or secrets[0].secret_arn is None:
        raise ValueError("RDS reported no managed master password secret for the instance")
    return secrets[0].secret_arn
