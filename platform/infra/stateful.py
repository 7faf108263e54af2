"""What is stateful: the one declared list of resource types whose replacement or deletion loses
something code cannot bring back (data, messages in flight, history, an address people use).

Three things read this list, so they cannot disagree:
- the program: with `shipyard:protect_stateful: true` (prod), every resource of these types gets
  Pulumi's `protect` option (`protect_stateful_resources`), so even a `pulumi up` run by hand
  refuses to delete or replace it;
- the CrossGuard policy `stateful-resources-protected` (policy/shipyard_policies/protection.py);
- the destructive-change gate and the PR comment (scripts/deploy/destructive_gate.py), which fail a
  plan that replaces or deletes one of these without the `allow-destructive:<stack>` label.

Every type the program declares is on exactly one of the two lists below; a test
(tests/platform_program/test_stateful.py) evaluates both stacks and the bootstrap and fails on a
type that is on neither, so a new kind of resource cannot slip in unclassified.

Standard library and `pulumi` only: the policy pack and the deploy scripts import it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# type token -> what a replace or delete loses. The reason is shown in the PR comment.
STATEFUL_TYPES: Mapping[str, str] = {
    "aws:rds/instance:Instance": "the database and its data (a replacement starts empty)",
    "aws:rds/cluster:Cluster": "the database cluster and its data",
    "aws:rds/clusterInstance:ClusterInstance": "a database cluster member and its endpoint",
    "aws:s3/bucket:Bucket": "the bucket's objects, and its name (others may take it)",
    "aws:s3/bucketV2:BucketV2": "the bucket's objects, and its name (others may take it)",
    "aws:sqs/queue:Queue": "messages in the queue or its dead-letter queue, and its URL",
    "aws:sns/topic:Topic": "the topic's ARN and its subscriptions (e-mail ones need re-confirming)",
    "aws:ecr/repository:Repository": "every image in it, including the digest prod runs",
    "aws:kms/key:Key": "everything encrypted with the key (AWS deletes it after 7-30 days)",
    # The bootstrap's alias is the address every stack's `awskms://alias/...` secrets provider uses.
    "aws:kms/alias:Alias": "the name stacks decrypt their secrets through",
    "aws:secretsmanager/secret:Secret": "the secret's ARN, its versions and rotation",
    "aws:cloudwatch/logGroup:LogGroup": "the log history",
    "aws:cloudfront/distribution:Distribution": "the distribution's domain name (DNS points at it)",
}

# Types the program declares that code recreates without loss: configuration, compute, wiring.
# Replacing one may still cause a blip (a rollout does that too) but loses no data.
STATELESS_TYPES: frozenset[str] = frozenset(
    {
        "pulumi:pulumi:Stack",
        "pulumi:providers:aws",
        "pulumi:providers:docker",
        # Deleting it suspends versioning; the versions already kept stay in the (protected) bucket.
        "aws:s3/bucketVersioning:BucketVersioning",
        # Deleting it only stops the expiry of old state versions; nothing is lost by it.
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:appautoscaling/policy:Policy",
        "aws:appautoscaling/target:Target",
        "aws:acm/certificate:Certificate",
        "aws:acm/certificateValidation:CertificateValidation",
        "aws:autoscaling/group:Group",
        "aws:cloudfront/originAccessControl:OriginAccessControl",
        "aws:cloudfront/vpcOrigin:VpcOrigin",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:ec2/eip:Eip",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/route:Route",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/vpc:Vpc",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:ecs/capacityProvider:CapacityProvider",
        "aws:ecs/cluster:Cluster",
        "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
        "aws:ecs/service:Service",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:iam/instanceProfile:InstanceProfile",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:iam/policy:Policy",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:lambda/function:Function",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "aws:lambda/permission:Permission",
        "aws:lb/listener:Listener",
        "aws:lb/listenerRule:ListenerRule",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/targetGroup:TargetGroup",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:route53/record:Record",
        # web/ files: uploaded again from the repository on every `pulumi up`.
        "aws:s3/bucketObjectv2:BucketObjectv2",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:scheduler/schedule:Schedule",  # a rule that starts a task; no data of its own
        # A version holds the value of a Pulumi secret config, which the stack keeps.
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:sqs/queuePolicy:QueuePolicy",
        "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "docker:index/image:Image",
        "docker:index/registryImage:RegistryImage",
        "docker:index/remoteImage:RemoteImage",
        "docker:index/tag:Tag",
    }
)


def is_stateful(type_token: str) -> bool:
    return type_token in STATEFUL_TYPES


def protect_stateful_resources(args: Any) -> Any:
    """A stack transformation: `protect=True` on every stateful resource, nothing else changed.

    `pulumi.runtime.register_stack_transformation` (in-process, so it also runs under the unit
    tests' mocks; the newer `register_resource_transform` goes through the engine and is silently
    skipped by `set_mocks`). Returns None for every other resource: unchanged.
    """
    import pulumi

    if not is_stateful(args.type_):
        return None
    return pulumi.ResourceTransformationResult(
        props=args.props,
        opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(protect=True)),
    )
