"""The IAM a stack grants its workloads, recreated on the emulator, and identities to run under.

From an evaluated stack (the offline harness: the real program under Pulumi's mocks) this takes
the policy document the program attaches to each workload identity the emulator can act for:

    api task role, worker task role  -> `python -m service api` / `python -m service worker`
    order-alerts function role       -> the handler inside `python -m tools.local alerts`

rewrites the ARNs of the messaging topology (topics, queues, dead-letter queues) from the
stack's names to the emulator's, and creates each role on the emulator with the program's own
trust and identity policies, unchanged otherwise. The emulator then acts for ECS and Lambda:
it assumes each role while its access control is still off, as those services do outside the
account's identity policies, and each process gets that role's credentials and no others.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from service.messaging.topology import TOPOLOGY
from tests.platform_program.queries import as_list, role_policy_of, statements
from tools.local.emulator import EMULATOR_CREDENTIALS
from tools.plan.offline import EvaluatedStack

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account, and the offline harness's
# Workload -> the program's role resource whose policy that workload runs with.
WORKLOAD_ROLES = {
    "api": "task-roles-api",
    "worker": "task-roles-worker",
    "order-alerts": "functions-order-alerts",
}


@dataclass(frozen=True)
class Identity:
    """AWS credentials of one role session or user, as environment variables or clients."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def env(self, prefix: str = "") -> dict[str, str]:
        env = {
            f"{prefix}AWS_ACCESS_KEY_ID": self.access_key_id,
            f"{prefix}AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        if self.session_token:
            env[f"{prefix}AWS_SESSION_TOKEN"] = self.session_token
        return env

    def client(self, service: str, endpoint_url: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=REGION,
            endpoint_url=endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
        )


# The emulator's bootstrap identity: only usable while its access control is off.
BOOTSTRAP = Identity(
    EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"], EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
)


@dataclass(frozen=True)
class WorkloadIam:
    trust: dict[str, Any]
    policy: dict[str, Any]


def workload_iam(stack: EvaluatedStack) -> dict[str, WorkloadIam]:
    """Each workload's trust and identity policy, exactly as the program declares them."""
    found = {}
    for workload, resource_name in WORKLOAD_ROLES.items():
        role = stack.named("aws:iam/role:Role", resource_name)
        found[workload] = WorkloadIam(
            trust=json.loads(role.inputs["assumeRolePolicy"]),
            policy=role_policy_of(stack, resource_name),
        )
    return found


def topology_arn_map(stack: EvaluatedStack, prefix: str) -> dict[str, str]:
    """The stack's topic and queue ARNs -> the same topics and queues on the emulator (whose
    topology was created under `prefix`)."""
    mapping = {}
    for topic in TOPOLOGY.topics:
        emulated = f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic.physical_name(prefix)}"
        mapping[stack.outputs["topic_arns"][topic.key]] = emulated
    for queue in TOPOLOGY.queues:
        for suffix, name in (("", queue.physical_name), ("-dlq", queue.dlq_physical_name)):
            resource = stack.named("aws:sqs/queue:Queue", f"messaging-{queue.key}{suffix}")
            mapping[resource.state["arn"]] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name(prefix)}"
    return mapping


def on_the_emulator(policy: dict[str, Any], arn_map: dict[str, str]) -> dict[str, Any]:
    """The policy with the topology's ARNs rewritten; anything else (log groups, the function's
    failure queue) stays as it is and simply matches nothing on the emulator."""
    rewritten = []
    for statement in statements(policy):
        resources = [arn_map.get(r, r) for r in as_list(statement["Resource"])]
        rewritten.append({**statement, "Resource": resources})
    return {**policy, "Statement": rewritten}


def without_resource(
    policy: dict[str, Any], action: str, resource: str
) -> tuple[dict[str, Any], int]:
    """The policy with `resource` taken out of every statement granting `action` (the control
    runs with one grant removed); also how many statements changed."""
    changed = 0
    kept = []
    for statement in statements(policy):
        resources = as_list(statement["Resource"])
        if action in as_list(statement["Action"]) and resource in resources:
            resources = [r for r in resources if r != resource]
            changed += 1
        if resources:
            kept.append({**statement, "Resource": resources})
    return {**policy, "Statement": kept}, changed


@dataclass
class IamBootstrap:
    """Creates roles and users on an emulator whose access control is off, and assumes them."""

    endpoint_url: str

    def __post_init__(self) -> None:
        self.iam = BOOTSTRAP.client("iam", self.endpoint_url)
        self.sts = BOOTSTRAP.client("sts", self.endpoint_url)

    def role(self, name: str, trust: dict[str, Any], policy: dict[str, Any]) -> Identity:
        """The role, with `policy` inline, and a session of it (as ECS or Lambda would get)."""
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
        self.iam.put_role_policy(
            RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy)
        )
        session = self.sts.assume_role(RoleArn=arn, RoleSessionName=f"{name}-session")
        credentials = session["Credentials"]
        return Identity(
            credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
        )

    def user(self, name: str, policy: dict[str, Any]) -> Identity:
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(
            UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy)
        )
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return Identity(key["AccessKeyId"], key["SecretAccessKey"])


def allow(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}],
    }


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


PolicyEdit = Callable[[dict[str, WorkloadIam]], dict[str, WorkloadIam]]
