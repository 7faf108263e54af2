"""Compute: the ECS cluster and where its tasks run, chosen per stack (`compute_mode`).

- `fargate`: every task on Fargate.
- `fargate_spot`: a base of on-demand Fargate tasks, the rest spread onto Fargate Spot by weight
  (Spot tasks get a 2-minute warning; ECS replaces them, and the drain below handles the stop).
- `ec2`: an Auto Scaling group of ECS-optimized instances behind a capacity provider, with managed
  scaling (ECS sizes the group to the tasks), managed termination protection (no scale-in under a
  running task) and managed draining (tasks are moved off an instance before it terminates).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, StackConfig
from infra.iam_documents import service_trust

# Public SSM parameters AWS keeps pointing at the current ECS-optimized Amazon Linux 2023 AMI.
ECS_AMI_PARAMETER = {
    "X86_64": "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
    "ARM64": "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id",
}


@dataclass(frozen=True)
class ComputeArgs:
    config: StackConfig
    vpc_id: pulumi.Input[str]
    private_subnet_ids: list[pulumi.Output[str]]


class Compute(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    # The strategy every service uses, explicit so a plan shows where tasks will run.
    capacity_provider_strategy: list[
        aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgsDict
    ]
    launch_compatibility: str  # "FARGATE" or "EC2", for task definitions
    capacity_providers: aws.ecs.ClusterCapacityProviders

    def __init__(
        self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:compute:Compute", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            name=config.prefix,
            settings=[{"name": "containerInsights", "value": "enabled"}],
            opts=child,
        )

        if config.compute_mode == "ec2":
            provider_name = self._ec2_capacity(name, config, args, cluster)
            providers: list[pulumi.Input[str]] = [provider_name]
            strategy: list[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgsDict
            ] = [{"capacity_provider": provider_name, "weight": 1, "base": 0}]
            self.launch_compatibility = "EC2"
        elif config.compute_mode == "fargate_spot":
            providers = ["FARGATE", "FARGATE_SPOT"]
            strategy = [
                {
                    "capacity_provider": "FARGATE",
                    "base": config.fargate_on_demand_base,
                    "weight": 1,
                },
                {
                    "capacity_provider": "FARGATE_SPOT",
                    "base": 0,
                    "weight": config.fargate_spot_weight,
                },
            ]
            self.launch_compatibility = "FARGATE"
        else:
            providers = ["FARGATE", "FARGATE_SPOT"]
            strategy = [{"capacity_provider": "FARGATE", "base": 0, "weight": 1}]
            self.launch_compatibility = "FARGATE"

        # Services depend on this association (see Services): ECS refuses a service whose
        # capacity provider is not associated yet, and refuses removing one still in use.
        self.capacity_providers = aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity",
            cluster_name=cluster.name,
            capacity_providers=providers,
            default_capacity_provider_strategies=strategy,
            opts=child,
        )
        self.capacity_provider_strategy = strategy
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.register_outputs({"cluster_name": self.cluster_name})

    def _ec2_capacity(
        self, name: str, config: StackConfig, args: ComputeArgs, cluster: aws.ecs.Cluster
    ) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        instance_role = aws.iam.Role(
            f"{name}-instance",
            name_prefix=f"{config.prefix}-instance-",
            assume_role_policy=service_trust("ec2.amazonaws.com"),
            description="ECS container instances: register with the cluster, pull, be managed",
            opts=child,
        )
        for index, policy in enumerate(
            (
                "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
                # Session Manager instead of SSH: no key pairs, no inbound port.
                "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            )
        ):
            aws.iam.RolePolicyAttachment(
                f"{name}-instance-{index}", role=instance_role.name, policy_arn=policy, opts=child
            )
        profile = aws.iam.InstanceProfile(
            f"{name}-instance",
            name_prefix=f"{config.prefix}-instance-",
            role=instance_role.name,
            opts=child,
        )
        instance_sg = aws.ec2.SecurityGroup(
            f"{name}-instances",
            vpc_id=args.vpc_id,
            description="ECS container instances: no inbound; tasks use their own ENIs (awsvpc)",
            tags={"Name": f"{config.prefix}-instances"},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-instances-egress",
            security_group_id=instance_sg.id,
            description="ECS agent, image pulls and AWS APIs",
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            opts=child,
        )
        ami = aws.ssm.get_parameter_output(
            name=ECS_AMI_PARAMETER[config.cpu_architecture],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        user_data = cluster.name.apply(
            lambda cluster_name: base64.b64encode(
                (
                    "#!/bin/bash\n"
                    f"echo ECS_CLUSTER={cluster_name} >> /etc/ecs/ecs.config\n"
                    # Spot-style draining also on instance retirement, and task ENI trunking
                    # limits are per instance: see the README on awsvpc density.
                    "echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config\n"
                ).encode()
            ).decode()
        )
        template = aws.ec2.LaunchTemplate(
            f"{name}-instances",
            image_id=ami.value,
            instance_type=config.ec2_instance_type,
            iam_instance_profile={"arn": profile.arn},
            vpc_security_group_ids=[instance_sg.id],
            user_data=user_data,
            # IMDSv2 only, one hop: containers (awsvpc) cannot reach the instance's credentials.
            metadata_options={
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
                "http_endpoint": "enabled",
            },
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {"volume_size": 30, "volume_type": "gp3", "encrypted": "true"},
                }
            ],
            update_default_version=True,
            opts=child,
        )
        group = aws.autoscaling.Group(
            f"{name}-instances",
            min_size=config.ec2_min_instances,
            max_size=config.ec2_max_instances,
            vpc_zone_identifiers=args.private_subnet_ids,
            # The template's version number, not "$Latest": the provider starts an instance
            # refresh only when this value changes, and "$Latest" never does.
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            # Managed termination protection needs every instance protected from scale-in;
            # ECS lifts the protection once an instance runs no tasks.
            protect_from_scale_in=True,
            health_check_type="EC2",
            # A new AMI or template rolls the instances; managed draining moves tasks first.
            instance_refresh={
                "strategy": "Rolling",
                "preferences": {
                    "min_healthy_percentage": 100,
                    "max_healthy_percentage": 200,  # launch the new instance before the old goes
                    # Every instance is scale-in protected (above): without this the refresh
                    # would skip them all and replace nothing.
                    "scale_in_protected_instances": "Refresh",
                },
            },
            tags=[
                {"key": "AmazonECSManaged", "value": "true", "propagate_at_launch": True},
                {"key": "Name", "value": f"{config.prefix}-ecs", "propagate_at_launch": True},
            ],
            # ECS managed scaling owns desired capacity; Pulumi must not reset it on each up.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
        )
        provider = aws.ecs.CapacityProvider(
            f"{name}-ec2",
            name=f"{config.prefix}-ec2",
            auto_scaling_group_provider={
                "auto_scaling_group_arn": group.arn,
                "managed_termination_protection": "ENABLED",
                "managed_draining": "ENABLED",
                "managed_scaling": {
                    "status": "ENABLED",
                    "target_capacity": config.ec2_target_capacity_percent,
                    "minimum_scaling_step_size": 1,
                    "maximum_scaling_step_size": 4,
                    "instance_warmup_period": 120,
                },
            },
            opts=child,
        )
        return provider.name
