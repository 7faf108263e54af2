"""ECS: one image, three task definitions, two services that roll out without dropping requests."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from infra.config import MAX_STOP_TIMEOUT_SECONDS, MAX_WAITED_BAKE_MINUTES
from infra.load_balancer import HEALTH_CHECK_INTERVAL_SECONDS, HEALTHY_THRESHOLD
from infra.service_declaration import load_declaration
from service.messaging.topology import ORDER_PROCESSING_QUEUE, TOPOLOGY
from tools.plan.offline import EvaluatedStack

from .conftest import STAGING_DIGEST
from .queries import (
    DIGEST_REFERENCE,
    alarm_metrics,
    container,
    environment,
    role_policy_of,
    secrets,
    task_definition,
)

# The demo's web service as services.yaml declares it.
_API = load_declaration(TOPOLOGY).services["api"]
API_PORT, HEALTH_CHECK_PATH = _API.port, _API.health_path

ROLES = ("api", "worker", "migrate")


@pytest.fixture(scope="module")
def ecs_model() -> Any:
    return botocore.session.get_session().get_service_model("ecs")


def service(stack: EvaluatedStack, role: str) -> dict[str, Any]:
    return stack.named("aws:ecs/service:Service", f"services-{role}").inputs


@pytest.mark.parametrize("role", ROLES)
def test_container_definitions_match_the_ecs_api_model(
    stack: EvaluatedStack, role: str, ecs_model: Any
) -> None:
    """Validated against AWS's own RegisterTaskDefinition input shape, shipped in botocore."""
    definition = task_definition(stack, role).inputs
    request = {
        "family": definition["family"],
        "containerDefinitions": json.loads(definition["containerDefinitions"]),
        "cpu": definition["cpu"],
        "memory": definition["memory"],
        "networkMode": definition["networkMode"],
        "requiresCompatibilities": definition["requiresCompatibilities"],
        "runtimePlatform": definition["runtimePlatform"],
        "executionRoleArn": definition["executionRoleArn"],
    }
    if "taskRoleArn" in definition:
        request["taskRoleArn"] = definition["taskRoleArn"]
    shape = ecs_model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    # and each container on its own against the ContainerDefinition shape
    for item in request["containerDefinitions"]:
        report = ParamValidator().validate(item, ecs_model.shape_for("ContainerDefinition"))
        assert not report.has_errors(), report.generate_report()


def test_the_validator_does_catch_a_wrong_container_definition(ecs_model: Any) -> None:
    wrong = {"name": "api", "image": "x", "stopTimeout": "30", "portMapping": []}
    report = ParamValidator().validate(wrong, ecs_model.shape_for("ContainerDefinition"))
    assert report.has_errors()


@pytest.mark.parametrize("role", ROLES)
def test_commands_are_exec_form_of_the_one_image(stack: EvaluatedStack, role: str) -> None:
    assert container(stack, role)["command"] == ["python", "-m", "service", role]
    images = {container(stack, r)["image"] for r in ROLES}
    assert len(images) == 1, "api, worker and migrate run the same image"
    (image,) = images
    assert re.match(DIGEST_REFERENCE, image), f"{image} is not a digest reference"
    assert image == stack.outputs["image_ref"]


def test_staging_builds_the_image_for_its_platform(staging: EvaluatedStack) -> None:
    (image,) = staging.of_type("docker:index/image:Image")
    assert image.inputs["build"]["platform"] == "linux/amd64"
    assert image.inputs["build"]["dockerfile"].endswith("/Dockerfile")
    assert image.inputs["build"]["context"] == str(
        __import__("infra.registry", fromlist=["REPO_ROOT"]).REPO_ROOT
    )
    assert staging.outputs["image_ref"] == image.state["repoDigest"]
    definition = task_definition(staging, "api").inputs
    assert definition["runtimePlatform"]["cpuArchitecture"] == "X86_64"


def test_prod_deploys_the_given_digest_and_builds_nothing(prod: EvaluatedStack) -> None:
    assert prod.of_type("docker:index/image:Image") == []
    assert "aws:ecr/getAuthorizationToken:getAuthorizationToken" not in prod.invokes
    assert prod.outputs["image_ref"] == STAGING_DIGEST
    assert container(prod, "api")["image"] == STAGING_DIGEST


def test_environment_and_secrets_follow_the_contract(stack: EvaluatedStack) -> None:
    database = stack.named("aws:rds/instance:Instance", "database-postgres")
    db_secret = database.state["masterUserSecrets"][0]["secretArn"]
    (jwt,) = stack.of_type("aws:secretsmanager/secret:Secret")
    for role in ROLES:
        env = environment(stack, role)
        assert env["ENVIRONMENT"] == stack.config.environment
        assert env["AWS_REGION"] == stack.config.region
        assert env["DB_HOST"] == database.state["address"]
        assert (env["DB_PORT"], env["DB_NAME"], env["DB_USER"]) == ("5432", "shipyard", "shipyard")
        assert secrets(stack, role) == {
            "DB_PASSWORD": f"{db_secret}:password::",
            "JWT_SECRET": jwt.state["arn"],
        }
        values = {k: v for k, v in env.items() if k != "DB_PASSWORD_SECRET_ARN"}
        assert not any("PASSWORD" in k or "SECRET" in k for k in values), "secrets via `secrets`"
    api, worker = environment(stack, "api"), environment(stack, "worker")
    assert api["RELAY_ENABLED"] == "true"
    assert api["PORT"] == str(API_PORT)
    assert worker["RELAY_ENABLED"] == "false"
    queue = TOPOLOGY.queue(ORDER_PROCESSING_QUEUE)
    assert worker["WORKER_VISIBILITY_TIMEOUT_SECONDS"] == str(queue.visibility_timeout_seconds)


def test_rolling_deployment_numbers(stack: EvaluatedStack) -> None:
    for role in ("api", "worker"):
        inputs = service(stack, role)
        assert inputs["deploymentMinimumHealthyPercent"] == 100
        assert inputs["deploymentMaximumPercent"] == 200
        assert inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert inputs["waitForSteadyState"] is True
    alarms = service(stack, "api")["alarms"]
    assert alarms["enable"] is True
    assert alarms["rollback"] is True
    alarm_names = {
        r.inputs["name"] for r in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert set(alarms["alarmNames"]) <= alarm_names
    metrics = {
        metric
        for r in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if r.inputs["name"] in alarms["alarmNames"]
        for metric, _ in alarm_metrics(r)
    }
    assert {"HTTPCode_Target_5XX_Count", "TargetResponseTime"} <= metrics


def test_rolling_and_native_blue_green_deployments(
    stack: EvaluatedStack, variant: Callable[..., EvaluatedStack]
) -> None:
    rolling = variant("staging", deployment_strategy="rolling")
    assert service(rolling, "api")["deploymentConfiguration"] == {"strategy": "ROLLING"}
    # Both shipped stacks deploy blue/green (staging rehearses what prod runs).
    blue_green = service(stack, "api")
    assert blue_green["deploymentConfiguration"] == {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": str(stack.config.blue_green_bake_minutes),
    }
    (load_balancer,) = blue_green["loadBalancers"]
    advanced = load_balancer["advancedConfiguration"]
    groups = {r.state["arn"] for r in stack.of_type("aws:lb/targetGroup:TargetGroup")}
    assert {load_balancer["targetGroupArn"], advanced["alternateTargetGroupArn"]} == groups
    rule = stack.named("aws:lb/listenerRule:ListenerRule", "load-balancer-api-forward")
    assert advanced["productionListenerRule"] == rule.state["arn"]
    role = next(
        r for r in stack.of_type("aws:iam/role:Role") if r.state["arn"] == advanced["roleArn"]
    )
    assert "ecs.amazonaws.com" in role.inputs["assumeRolePolicy"]
    # The worker has no traffic to shift: it always rolls.
    assert service(stack, "worker")["deploymentConfiguration"] == {"strategy": "ROLLING"}


def test_drain_arithmetic_drops_nothing(stack: EvaluatedStack) -> None:
    config = stack.config
    stop_timeout = container(stack, "api")["stopTimeout"]
    assert stop_timeout <= MAX_STOP_TIMEOUT_SECONDS  # Fargate's ceiling
    drain = int(environment(stack, "api")["GRACEFUL_SHUTDOWN_SECONDS"])
    worker_drain = int(environment(stack, "worker")["WORKER_SHUTDOWN_SECONDS"])
    assert drain < stop_timeout, "the server must finish before SIGKILL"
    assert worker_drain < container(stack, "worker")["stopTimeout"]
    queue = TOPOLOGY.queue(ORDER_PROCESSING_QUEUE)
    assert worker_drain < queue.visibility_timeout_seconds
    (target_group, *_) = stack.of_type("aws:lb/targetGroup:TargetGroup")
    check = target_group.inputs["healthCheck"]
    assert check["path"] == HEALTH_CHECK_PATH == "/healthz"
    assert target_group.inputs["port"] == API_PORT
    assert target_group.inputs["targetType"] == "ip"
    # deregistration must be explicit (AWS's default 300 s stalls every rollout) and cover a request
    assert (
        5 <= target_group.inputs["deregistrationDelay"] == config.deregistration_delay_seconds < 300
    )
    time_to_healthy = HEALTHY_THRESHOLD * HEALTH_CHECK_INTERVAL_SECONDS
    grace = service(stack, "api")["healthCheckGracePeriodSeconds"]
    assert grace > time_to_healthy, "grace must cover start-up plus the checks to turn healthy"
    assert check["interval"] == HEALTH_CHECK_INTERVAL_SECONDS
    assert check["healthyThreshold"] == HEALTHY_THRESHOLD


def test_prod_runs_at_least_two_of_each(prod: EvaluatedStack) -> None:
    for role in ("api", "worker"):
        assert service(prod, role)["desiredCount"] >= 2
        target = prod.named("aws:appautoscaling/target:Target", f"services-{role}-scaling")
        assert target.inputs["minCapacity"] >= 2


def test_autoscaling_policies(
    staging: EvaluatedStack, prod: EvaluatedStack, variant: Callable[..., EvaluatedStack]
) -> None:
    def policies(stack: EvaluatedStack) -> dict[str, dict[str, Any]]:
        return {
            r.name: r.inputs["targetTrackingScalingPolicyConfiguration"]
            for r in stack.of_type("aws:appautoscaling/policy:Policy")
        }

    rolling_stack = variant("staging", deployment_strategy="rolling")
    rolling = policies(rolling_stack)
    assert rolling["services-api-cpu"]["predefinedMetricSpecification"] == {
        "predefinedMetricType": "ECSServiceAverageCPUUtilization"
    }
    requests = rolling["services-api-requests"]["predefinedMetricSpecification"]
    assert requests["predefinedMetricType"] == "ALBRequestCountPerTarget"
    assert re.match(r"^app/.+/[0-9a-f]+/targetgroup/.+/[0-9a-f]+$", requests["resourceLabel"])
    backlog = rolling["services-worker-backlog"]
    assert backlog["targetValue"] == rolling_stack.config.worker_backlog_per_task_target
    metrics = {m["id"]: m for m in backlog["customizedMetricSpecification"]["metrics"]}
    visible = metrics["visible"]["metricStat"]["metric"]
    queue_name = TOPOLOGY.queue(ORDER_PROCESSING_QUEUE).physical_name(rolling_stack.config.prefix)
    assert visible["dimensions"] == [{"name": "QueueName", "value": queue_name}]
    assert [m["id"] for m in metrics.values() if m["returnData"]] == ["backlog_per_task"]
    # blue/green alternates target groups, so the api scales on CPU only there
    for blue_green in (staging, prod):
        assert "services-api-requests" not in policies(blue_green)


def test_cluster_has_container_insights(stack: EvaluatedStack) -> None:
    (cluster,) = stack.of_type("aws:ecs/cluster:Cluster")
    assert {"name": "containerInsights", "value": "enabled"} in cluster.inputs["settings"]


def test_ec2_capacity_provider(variant: Callable[..., EvaluatedStack]) -> None:
    ec2 = variant("staging", compute_mode="ec2", image_platform="linux/arm64", api_memory="1000")
    (provider,) = ec2.of_type("aws:ecs/capacityProvider:CapacityProvider")
    group_provider = provider.inputs["autoScalingGroupProvider"]
    assert group_provider["managedTerminationProtection"] == "ENABLED"
    assert group_provider["managedDraining"] == "ENABLED"
    assert group_provider["managedScaling"]["status"] == "ENABLED"
    (group,) = ec2.of_type("aws:autoscaling/group:Group")
    assert group.inputs["protectFromScaleIn"] is True, "managed termination protection needs it"
    assert {"key": "AmazonECSManaged", "value": "true", "propagateAtLaunch": True} in group.inputs[
        "tags"
    ]
    assert group_provider["autoScalingGroupArn"] == group.state["arn"]
    (template,) = ec2.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["imageId"].startswith("ami-")
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert "aws:ssm/getParameter:getParameter" in ec2.invokes  # the ECS-optimized AMI, arm64
    for role in ROLES:
        definition = task_definition(ec2, role).inputs
        assert definition["requiresCompatibilities"] == ["EC2"]
        assert definition["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    strategy = service(ec2, "api")["capacityProviderStrategies"]
    assert strategy == [{"capacityProvider": provider.inputs["name"], "weight": 1, "base": 0}]


def test_fargate_spot_mix_keeps_an_on_demand_base(staging: EvaluatedStack) -> None:
    strategy = {
        s["capacityProvider"]: s for s in service(staging, "api")["capacityProviderStrategies"]
    }
    assert strategy["FARGATE"]["base"] == staging.config.fargate_on_demand_base >= 1
    assert strategy["FARGATE_SPOT"]["weight"] == staging.config.fargate_spot_weight


def test_services_depend_on_the_clusters_capacity_providers(
    stack: EvaluatedStack, variant: Callable[..., EvaluatedStack]
) -> None:
    """ECS refuses a service whose capacity provider is not associated with the cluster yet,
    and refuses to remove the association while a service uses it: the services must come
    after it on create and go before it on destroy, i.e. depend on it."""
    ec2 = variant("staging", compute_mode="ec2", image_platform="linux/arm64", api_memory="1000")
    for evaluated in (stack, ec2):
        (association,) = evaluated.of_type(
            "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders"
        )
        for role in ("api", "worker"):
            ecs_service = evaluated.named("aws:ecs/service:Service", f"services-{role}")
            assert association.urn in ecs_service.dependencies, (
                f"{ecs_service.urn} does not depend on {association.urn}"
            )


def minutes(duration: str) -> float:
    """A Pulumi custom timeout ("45m", "1h30m", "90s") in minutes."""
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", duration)
    assert parts, duration
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * {"h": 60, "m": 1, "s": 1 / 60}[u] for n, u in parts)


# What the provider waits by default for a create or update with wait_for_steady_state.
PROVIDER_DEFAULT_TIMEOUT_MINUTES = 20


@pytest.mark.parametrize("bake", ["10", str(MAX_WAITED_BAKE_MINUTES)])
def test_pulumi_waits_for_the_rollout_and_the_bake_time(
    variant: Callable[..., EvaluatedStack], bake: str
) -> None:
    """Under blue/green, steady state comes only after the bake time: the provider's wait must
    cover a rollout (its default 20 minutes) plus the bake, or `pulumi up` fails while ECS
    carries on."""
    blue_green = variant("prod", image_ref=STAGING_DIGEST, blue_green_bake_minutes=bake)
    api = blue_green.named("aws:ecs/service:Service", "services-api")
    for operation in ("create", "update"):
        assert operation in api.custom_timeouts, f"{api.urn}: no {operation} timeout"
        assert minutes(api.custom_timeouts[operation]) >= (
            PROVIDER_DEFAULT_TIMEOUT_MINUTES + int(bake)
        ), api.custom_timeouts
    worker = blue_green.named("aws:ecs/service:Service", "services-worker")
    for operation in ("create", "update"):
        assert minutes(worker.custom_timeouts.get(operation, "20m")) >= 20


def test_ec2_instances_are_refreshed_when_the_launch_template_changes(
    variant: Callable[..., EvaluatedStack],
) -> None:
    """The provider starts an instance refresh only when the group's launch template version
    changes: `$Latest` never changes, so the template's latest_version must be used. Every
    instance is protected from scale-in (managed termination protection), so the refresh must be
    told to replace protected instances too (managed draining moves their tasks first)."""
    ec2 = variant("staging", compute_mode="ec2", image_platform="linux/arm64", api_memory="1000")
    (template,) = ec2.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    (group,) = ec2.of_type("aws:autoscaling/group:Group")
    version = group.inputs["launchTemplate"]["version"]
    assert version not in ("$Latest", "$Default"), f"{group.urn}: version {version}"
    assert version == str(template.state["latestVersion"])
    refresh = group.inputs["instanceRefresh"]
    assert group.inputs["protectFromScaleIn"] is True
    assert refresh["preferences"]["scaleInProtectedInstances"] == "Refresh"
    # The refresh settings are what StartInstanceRefresh takes: check them against its model.
    autoscaling = botocore.session.get_session().get_service_model("autoscaling")
    shape = autoscaling.operation_model("StartInstanceRefresh").input_shape
    assert shape is not None
    request = {
        "AutoScalingGroupName": "group",
        "Strategy": refresh["strategy"],
        # Pulumi carries every number as a float; the API's percentages are integers.
        "Preferences": {
            k[0].upper() + k[1:]: int(v) if isinstance(v, float) and v.is_integer() else v
            for k, v in refresh["preferences"].items()
        },
    }
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


def test_long_running_processes_read_the_rotating_database_password(stack: EvaluatedStack) -> None:
    """RDS rotates the managed password every 7 days; ECS injects DB_PASSWORD at start only. The
    api and the worker read the secret at each new connection: they get its ARN, and their task
    roles may read exactly that secret (migrations are short-lived: DB_PASSWORD is enough)."""
    database = stack.named("aws:rds/instance:Instance", "database-postgres")
    db_secret = database.state["masterUserSecrets"][0]["secretArn"]
    for role in ("api", "worker"):
        assert environment(stack, role)["DB_PASSWORD_SECRET_ARN"] == db_secret
        policy = role_policy_of(stack, f"task-roles-{role}")
        reads = [s for s in policy["Statement"] if "secretsmanager:GetSecretValue" in s["Action"]]
        assert [s["Resource"] for s in reads] == [[db_secret]], role
    assert "DB_PASSWORD_SECRET_ARN" not in environment(stack, "migrate")
