"""Network: a VPC over 2-3 availability zones, public and private subnets, egress per stack setting.

Public subnets hold only what must face the internet (NAT gateways, and the ALB when
`alb_origin=public`); tasks, instances and the database live in private subnets without public IPs.
Egress from private subnets is a NAT gateway (one for the stack, or one per AZ so an AZ outage
cannot cut the others off) or, with `nat_gateways=none`, VPC endpoints for exactly the AWS APIs the
system calls: no route to the internet at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import NS, PROJECT, StackConfig

# Interface endpoints needed when private subnets have no NAT: image pulls (ecr.api, ecr.dkr and
# the S3 gateway for layers), logs, secrets injection, the service's own SNS/SQS calls, STS for
# task-role credentials, and the ECS agent's channels (only used by EC2 capacity, harmless else).
INTERFACE_ENDPOINTS = (
    "ecr.api",
    "ecr.dkr",
    "logs",
    "secretsmanager",
    "sns",
    "sqs",
    "sts",
    "ecs",
    "ecs-agent",
    "ecs-telemetry",
)


@dataclass(frozen=True)
class NetworkArgs:
    config: StackConfig


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    private_route_table_ids: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:network:Network", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        zone_count = config.availability_zones
        # By zone id, not name: names map to different zones in every account, ids do not.
        zones = aws.get_availability_zones_output(
            state="available",
            exclude_zone_ids=list(config.excluded_zone_ids),
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        zone_names = zones.names.apply(
            lambda names: _enough_zones(names, zone_count, config.excluded_zone_ids)
        )

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(config.vpc_cidr),
            enable_dns_support=True,  # both needed for interface endpoints' private DNS
            enable_dns_hostnames=True,
            tags={"Name": config.prefix},
            opts=child,
        )
        # Sixteen equal blocks: public subnets take the first ones, private ones start at 8, so
        # adding a third AZ later never renumbers an existing subnet.
        blocks = list(config.vpc_cidr.subnets(new_prefix=config.vpc_cidr.prefixlen + 4))

        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags={"Name": f"{config.prefix}-public"},
            opts=child,
        )

        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        private_tables: list[aws.ec2.RouteTable] = []
        for index in range(zone_count):
            zone = zone_names[index]
            public = aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                availability_zone=zone,
                cidr_block=str(blocks[index]),
                map_public_ip_on_launch=False,  # nothing gets a public IP unless asked explicitly
                tags={"Name": f"{config.prefix}-public-{index}", "tier": "public"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index}",
                subnet_id=public.id,
                route_table_id=public_rt.id,
                opts=child,
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                availability_zone=zone,
                cidr_block=str(blocks[8 + index]),
                map_public_ip_on_launch=False,
                tags={"Name": f"{config.prefix}-private-{index}", "tier": "private"},
                opts=child,
            )
            # One route table per private subnet whatever the NAT mode, so that switching
            # between single and per-AZ NAT only changes routes, never subnets.
            table = aws.ec2.RouteTable(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                tags={"Name": f"{config.prefix}-private-{index}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}", subnet_id=private.id, route_table_id=table.id, opts=child
            )
            public_subnets.append(public)
            private_subnets.append(private)
            private_tables.append(table)

        nat_count = {"single": 1, "per_az": zone_count, "none": 0}[config.nat_gateways]
        nat_gateways: list[aws.ec2.NatGateway] = []
        for index in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-{index}", domain="vpc", opts=child)
            nat_gateways.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{index}",
                    allocation_id=eip.id,
                    subnet_id=public_subnets[index].id,
                    tags={"Name": f"{config.prefix}-nat-{index}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )
        for index, table in enumerate(private_tables):
            if nat_gateways:
                nat = nat_gateways[index % len(nat_gateways)]
                aws.ec2.Route(
                    f"{name}-private-{index}-egress",
                    route_table_id=table.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat.id,
                    opts=child,
                )

        self.endpoint_ids: list[pulumi.Output[str]] = []
        if config.nat_gateways == "none":
            self._endpoints(name, config, vpc, private_subnets, private_tables)

        self.vpc_id = vpc.id
        self.vpc_cidr = str(config.vpc_cidr)
        self.public_subnet_ids = [s.id for s in public_subnets]
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.private_route_table_ids = [t.id for t in private_tables]
        self.nat_gateway_count = nat_count
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
            }
        )

    def _endpoints(
        self,
        name: str,
        config: StackConfig,
        vpc: aws.ec2.Vpc,
        subnets: list[aws.ec2.Subnet],
        tables: list[aws.ec2.RouteTable],
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            vpc_id=vpc.id,
            description="HTTPS from inside the VPC to AWS interface endpoints",
            tags={"Name": f"{config.prefix}-endpoints"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https",
            security_group_id=endpoint_sg.id,
            description="HTTPS from the VPC",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=str(config.vpc_cidr),
            opts=child,
        )
        s3 = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{config.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in tables],
            opts=child,
        )
        self.endpoint_ids.append(s3.id)
        for service in INTERFACE_ENDPOINTS:
            endpoint = aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{config.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in subnets],
                security_group_ids=[endpoint_sg.id],
                opts=child,
            )
            self.endpoint_ids.append(endpoint.id)


def _enough_zones(names: list[str], needed: int, excluded: tuple[str, ...]) -> list[str]:
    if len(names) < needed:
        raise ValueError(
            f"{NS}availability_zones={needed}, but the region has only {len(names)} "
            f"available zones outside {NS}excluded_zone_ids={list(excluded)}; "
            "lower one of them"
        )
    return names
