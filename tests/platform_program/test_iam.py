"""IAM: no wildcard actions anywhere, real actions only, each role reaches only what it must."""

from __future__ import annotations

import json

from service.messaging.topology import ORDER_EVENTS_TOPIC, ORDER_PROCESSING_QUEUE, ORDERS_TOPIC
from tools.plan.offline import EvaluatedStack

from .conftest import STAGING_DIGEST
from .iam_lint import blocking_findings
from .queries import as_list, policy_documents, role_policy_of, statements


def grants(document: dict) -> dict[str, set[str]]:
    """action -> resources it is allowed on."""
    allowed: dict[str, set[str]] = {}
    for statement in statements(document):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            allowed.setdefault(action, set()).update(as_list(statement["Resource"]))
    return allowed


def database_secret(stack: EvaluatedStack) -> str:
    database = stack.named("aws:rds/instance:Instance", "database-postgres")
    return database.state["masterUserSecrets"][0]["secretArn"]


def test_no_statement_grants_wildcard_actions(stack: EvaluatedStack) -> None:
    documents = list(policy_documents(stack))
    assert len(documents) >= 12, "the scan must actually see the stack's policies"
    for resource, document in documents:
        for statement in statements(document):
            for action in as_list(statement.get("Action", [])):
                assert action != "*", f"{resource.urn}: {action}"
                assert not action.endswith(":*"), f"{resource.urn}: {action}"
            assert "NotAction" not in statement, resource.urn


def test_identity_policies_use_real_actions_and_scoped_resources(stack: EvaluatedStack) -> None:
    for policy in stack.of_type("aws:iam/rolePolicy:RolePolicy"):
        assert blocking_findings(policy.inputs["policy"]) == [], policy.urn


def test_the_linter_catches_a_misspelt_action() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMesage", "Resource": "*"}],
    }
    assert any(f.startswith("UNKNOWN_ACTION") for f in blocking_findings(json.dumps(document)))


def test_api_publishes_exactly_the_topics_its_outbox_relay_publishes(stack: EvaluatedStack) -> None:
    assert grants(role_policy_of(stack, "task-roles-api")) == {
        "sns:Publish": {
            stack.outputs["topic_arns"][ORDERS_TOPIC],
            stack.outputs["topic_arns"][ORDER_EVENTS_TOPIC],
        },
        "secretsmanager:GetSecretValue": {database_secret(stack)},
    }


def test_worker_consumes_its_queue_and_publishes_nothing(stack: EvaluatedStack) -> None:
    queue_arn = stack.named("aws:sqs/queue:Queue", f"messaging-{ORDER_PROCESSING_QUEUE}").state[
        "arn"
    ]
    assert grants(role_policy_of(stack, "task-roles-worker")) == {
        "secretsmanager:GetSecretValue": {database_secret(stack)},
        "sqs:ReceiveMessage": {queue_arn},
        "sqs:DeleteMessage": {queue_arn},
        "sqs:ChangeMessageVisibility": {queue_arn},
    }


def test_migrations_run_without_a_task_role(stack: EvaluatedStack) -> None:
    definition = stack.named("aws:ecs/taskDefinition:TaskDefinition", "task-definitions-migrate")
    assert "taskRoleArn" not in definition.inputs


def test_execution_role_pulls_logs_and_reads_exactly_two_secrets(stack: EvaluatedStack) -> None:
    allowed = grants(role_policy_of(stack, "task-roles-execution"))
    database = stack.named("aws:rds/instance:Instance", "database-postgres")
    (jwt,) = stack.of_type("aws:secretsmanager/secret:Secret")
    assert allowed["secretsmanager:GetSecretValue"] == {
        database.state["masterUserSecrets"][0]["secretArn"],
        jwt.state["arn"],
    }
    # The tasks' log groups (the functions' groups belong to the functions' own roles).
    log_groups = {
        r.state["arn"] + ":*"
        for r in stack.of_type("aws:cloudwatch/logGroup:LogGroup")
        if r.name.startswith("observability-")
    }
    assert allowed["logs:PutLogEvents"] == allowed["logs:CreateLogStream"] == log_groups
    assert allowed["ecr:GetAuthorizationToken"] == {"*"}  # the action has no resource form
    assert set(allowed) == {
        "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability", "logs:CreateLogStream", "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
    }  # fmt: skip


def test_execution_role_pulls_from_the_shared_repository_whatever_the_image(
    staging: EvaluatedStack, prod: EvaluatedStack
) -> None:
    # The bootstrap's repository (shipyard:image_repository); the stack owns none of its own.
    assert staging.of_type("aws:ecr/repository:Repository") == []
    shared = staging.config.image_repository
    assert shared is not None
    for stack in (staging, prod):
        assert grants(role_policy_of(stack, "task-roles-execution"))["ecr:BatchGetImage"] == {
            shared.arn
        }, stack.stack
    repo = STAGING_DIGEST.split("/", 1)[1].split("@")[0]
    assert shared.arn == f"arn:aws:ecr:us-east-1:123456789012:repository/{repo}"
