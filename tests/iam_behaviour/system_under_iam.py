"""The order pipeline's real processes, each with its own role's credentials, on an emulator
that enforces IAM: `python -m service api` (with its relay), `python -m service worker`,
`python -m tools.local alerts` (the order-alerts handler; the queue it reads stands in for SNS's
invocation and is read with a separate "Lambda service" identity)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from service.core.config import Settings
from service.messaging.bootstrap import create_topology, function_queue_env_var
from service.messaging.topology import (
    OPERATOR_ALERTS_TOPIC,
    ORDER_ALERTS_FUNCTION,
    ORDER_NOTIFICATIONS_QUEUE,
    TOPOLOGY,
)
from tests.platform_program.queries import environment
from tests.utils.system import LocalSystem
from tools.local.emulator import Emulator
from tools.local.function_runner import declared_topology
from tools.local.processes import start_python
from tools.plan.offline import EvaluatedStack

from .workload_iam import (
    ACCOUNT,
    BOOTSTRAP,
    REGION,
    IamBootstrap,
    Identity,
    PolicyEdit,
    allow,
    on_the_emulator,
    topology_arn_map,
    unique,
    workload_iam,
)

# Orders above this fail in the worker (a setting of the worker): the order.failed path.
FULFILMENT_LIMIT = "50"


def queue_arn(url: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rsplit('/', 1)[-1]}"


@dataclass
class SystemUnderIam:
    stack: EvaluatedStack
    emulator: Emulator
    system: LocalSystem
    identities: dict[str, Identity]
    lambda_service: Identity
    observer: Identity
    operator_inbox_url: str
    emulated_arns: dict[str, str] = field(default_factory=dict)

    @classmethod
    def prepare(
        cls,
        stack: EvaluatedStack,
        emulator: Emulator,
        *,
        database_url: str,
        workdir: Path,
        edit: PolicyEdit | None = None,
    ) -> SystemUnderIam:
        """Topology, roles (from the stack's policies) and sessions, then IAM enforced."""
        emulator.set_iam(enforced=False)
        prefix = unique("iam")
        system = LocalSystem(database_url=database_url, emulator_url=emulator.url, workdir=workdir)
        settings = Settings(aws_endpoint_url=emulator.url, database_url=database_url)
        declared = declared_topology()  # with services.yaml's functions (their stand-in queues)
        system.topology_env = create_topology(settings, prefix=prefix, topology=declared)
        arn_map = topology_arn_map(stack, prefix)
        workloads = workload_iam(stack)
        if edit is not None:
            workloads = edit(workloads)
        bootstrap = IamBootstrap(emulator.url)
        identities = {
            workload: bootstrap.role(
                f"{prefix}-{workload}", iam.trust, on_the_emulator(iam.policy, arn_map)
            )
            for workload, iam in workloads.items()
        }
        # What Lambda's service does (read the function's invocations), not the function.
        function = declared.function(ORDER_ALERTS_FUNCTION)
        invocations = queue_arn(system.topology_env[function_queue_env_var(function)])
        lambda_service = bootstrap.role(
            f"{prefix}-lambda-service",
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            allow(
                ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"],
                [invocations],
            ),
        )
        # The test's eyes: an inbox on the operator topic, and the notifications queue.
        sqs = BOOTSTRAP.client("sqs", emulator.url)
        inbox = sqs.create_queue(QueueName=f"{prefix}-operator-inbox")["QueueUrl"]
        operator_topic = system.topology_env[TOPOLOGY.topic(OPERATOR_ALERTS_TOPIC).env_var]
        BOOTSTRAP.client("sns", emulator.url).subscribe(
            TopicArn=operator_topic,
            Protocol="sqs",
            Endpoint=queue_arn(inbox),
            Attributes={"RawMessageDelivery": "true"},
            ReturnSubscriptionArn=True,
        )
        notifications = system.topology_env[TOPOLOGY.queue(ORDER_NOTIFICATIONS_QUEUE).env_var or ""]
        observer = bootstrap.user(
            f"{prefix}-observer",
            allow(["sqs:ReceiveMessage"], [queue_arn(inbox), queue_arn(notifications)]),
        )
        emulator.set_iam(enforced=True)
        return cls(
            stack=stack,
            emulator=emulator,
            system=system,
            identities=identities,
            lambda_service=lambda_service,
            observer=observer,
            operator_inbox_url=inbox,
            emulated_arns=arn_map,
        )

    def role_env(self, role: str) -> dict[str, str]:
        """What ECS gives the process: the stack's RELAY_ENABLED for it, its role's session."""
        return {
            "RELAY_ENABLED": environment(self.stack, role)["RELAY_ENABLED"],
            **self.identities[role].env(),
        }

    def start(self) -> str:
        base = self.system.start_api(**self.role_env("api"))
        self.system.start_worker(ORDER_FULFILMENT_LIMIT=FULFILMENT_LIMIT, **self.role_env("worker"))
        alerts_env = self.system.env(
            **self.identities["order-alerts"].env(),
            **self.lambda_service.env("LAMBDA_SERVICE_"),
        )
        self.system.processes.append(
            start_python(
                ["-m", "tools.local", "alerts"],
                env=alerts_env,
                log_path=self.system.workdir / "alerts.log",
            )
        )
        return base

    def received(self, queue_url: str, wanted: int, timeout: float = 30) -> list[str]:
        """Bodies of the messages on `queue_url`, read as the observer, until `wanted`."""
        sqs = self.observer.client("sqs", self.emulator.url)
        bodies: list[str] = []
        deadline = time.monotonic() + timeout
        while len(bodies) < wanted and time.monotonic() < deadline:
            answer = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            bodies += [m["Body"] for m in answer.get("Messages", [])]
        return bodies

    @property
    def notifications_url(self) -> str:
        return self.system.topology_env[TOPOLOGY.queue(ORDER_NOTIFICATIONS_QUEUE).env_var or ""]

    def log(self, name: str) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.system.workdir.glob(name))
