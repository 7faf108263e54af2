"""One security group per declared service; the web service's admits the ALB on its port only.

Separate groups let the database admit each service by name and keep the ALB out of the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, StackConfig
from infra.service_declaration import DeclaredService


@dataclass(frozen=True)
class TaskSecurityGroupsArgs:
    config: StackConfig
    services: dict[str, DeclaredService]
    vpc_id: pulumi.Input[str]
    load_balancer_security_group_id: pulumi.Input[str]


class TaskSecurityGroups(pulumi.ComponentResource):
    ids: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: TaskSecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:network:TaskSecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.ids = {}
        for role in args.services:
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
        for role, service in args.services.items():
            if service.spec.kind != "web":
                continue
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{role}-from-alb",
                security_group_id=self.ids[role],
                description="HTTP from the load balancer only",
                ip_protocol="tcp",
                from_port=service.spec.web_port,
                to_port=service.spec.web_port,
                referenced_security_group_id=args.load_balancer_security_group_id,
                opts=child,
            )
        self.register_outputs({"ids": self.ids})
