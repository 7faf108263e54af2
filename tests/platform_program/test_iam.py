"""IAM: no wildcard actions anywhere, real actions only, each role reaches only what it must."""

from __future__ import annotations

import json

from infra.deploy_identity import AUDIENCE, GITHUB_OIDC_HOST
from infra.offline import EvaluatedStack
from service.messaging.topology import ORDER_EVENTS_TOPIC, ORDER_PROCESSING_QUEUE, ORDERS_TOPIC

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


def test_execution_role_pulls_from_the_repository_of_the_deployed_image(
    staging: EvaluatedStack, prod: EvaluatedStack
) -> None:
    (repository,) = staging.of_type("aws:ecr/repository:Repository")
    assert grants(role_policy_of(staging, "task-roles-execution"))["ecr:BatchGetImage"] == {
        repository.state["arn"]
    }
    # prod runs staging's image: it pulls from the repository named in image_ref
    repo = STAGING_DIGEST.split("/", 1)[1].split("@")[0]
    assert grants(role_policy_of(prod, "task-roles-execution"))["ecr:BatchGetImage"] == {
        f"arn:aws:ecr:us-east-1:123456789012:repository/{repo}"
    }


def test_github_roles_trust_only_this_repository(stack: EvaluatedStack) -> None:
    repository = stack.config.github_repository
    expected = {
        "deploy-identity-deploy": [
            f"repo:{repository}:environment:{stack.config.github_environment}"
        ],
        "deploy-identity-preview": [
            f"repo:{repository}:pull_request",
            f"repo:{repository}:ref:refs/heads/main",
        ],
    }
    (provider,) = stack.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["clientIdLists"] == [AUDIENCE]
    for role_name, subjects in expected.items():
        role = stack.named("aws:iam/role:Role", role_name)
        (statement,) = statements(json.loads(role.inputs["assumeRolePolicy"]))
        assert statement["Principal"] == {"Federated": provider.state["arn"]}
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Condition"] == {
            "StringEquals": {
                f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                f"{GITHUB_OIDC_HOST}:sub": subjects,
            }
        }
    assert stack.outputs["deploy_role_arn"].endswith(f":role/{stack.config.prefix}-deploy")
    assert stack.outputs["preview_role_arn"].endswith(f":role/{stack.config.prefix}-preview")


def test_deploy_role_manages_only_this_stacks_roles(stack: EvaluatedStack) -> None:
    allowed = grants(role_policy_of(stack, "deploy-identity-deploy"))
    prefix = stack.config.prefix
    assert allowed["iam:PassRole"] == {
        f"arn:aws:iam::123456789012:role/{prefix}-*",
        f"arn:aws:iam::123456789012:instance-profile/{prefix}-*",
    }
    # and every role this program creates is inside that prefix
    for role in stack.of_type("aws:iam/role:Role"):
        assert role.state["name"].startswith(f"{prefix}-"), role.urn


def test_an_existing_oidc_provider_is_reused(variant) -> None:
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    shared = variant("staging", github_oidc_provider_arn=arn)
    assert shared.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    role = shared.named("aws:iam/role:Role", "deploy-identity-deploy")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Federated": arn
    }
