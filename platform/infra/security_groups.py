"""One security group per task role: api (reachable from the ALB only), worker and migrate.

Separate groups let the database admit each role by name and keep the ALB out of the worker.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig
from infra.load_balancer import API_PORT

ROLES = ("api", "worker", "migrate")


@dataclass(frozen=True)
class TaskSecurityGroupsArgs:
    config: StackConfig
    vpc_id: pulumi.Input[str]
    load_balancer_security_group_id: pulumi.Input[str]


class TaskSecurityGroups(pulumi.ComponentResource):
    ids: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: TaskSecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("shipyard:network:TaskSecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.ids = {}
        for role in ROLES:
            group = aws.ec2.SecurityGroup(
                f"{name}-{role}",
                vpc_id=args.vpc_id,
                description=f"{role} tasks",
                tags={"Name": f"{args.config.prefix}-{role}"},
                opts=child,
            )
            # Outbound: PostgreSQL and AWS APIs (through NAT or VPC endpoints).
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-{role}-egress",
                security_group_id=group.id,
                description="PostgreSQL and AWS APIs",
                ip_protocol="-1",
                cidr_ipv4="0.0.0.0/0",
                opts=child,
            )
            self.ids[role] = group.id
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-api-from-alb",
            security_group_id=self.ids["api"],
            description="HTTP from the load balancer only",
            ip_protocol="tcp",
            from_port=API_PORT,
            to_port=API_PORT,
            referenced_security_group_id=args.load_balancer_security_group_id,
            opts=child,
        )
        self.register_outputs({"ids": self.ids})
