"""IAM: no policy statement grants every action (`*`) or a whole service (`s3:*`)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from shipyard_policies.props import ReportViolation, as_list, document

# Resource type -> the properties holding policy documents.
DOCUMENT_PROPERTIES = {
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
    "aws:sns/topicPolicy:TopicPolicy": ("policy",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:kms/key:Key": ("policy",),
}


def wildcard_problems(policy: Any) -> list[str]:
    problems: list[str] = []
    parsed = document(policy)
    if not isinstance(parsed, dict):
        return problems
    for statement in as_list(parsed.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid", "(no Sid)")
        if "NotAction" in statement:
            problems.append(f"statement {sid} uses NotAction: it allows everything else")
        for action in as_list(statement.get("Action")):
            if action == "*" or str(action).endswith(":*"):
                problems.append(f"statement {sid} grants {action!r}: list the actions it needs")
    return problems


def _validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
    documents = [args.props.get(p) for p in DOCUMENT_PROPERTIES.get(args.resource_type, ())]
    if args.resource_type == "aws:iam/role:Role":
        documents += [
            p.get("policy")
            for p in as_list(args.props.get("inlinePolicies"))
            if isinstance(p, dict)
        ]
    for policy in documents:
        for problem in wildcard_problems(policy):
            report(problem)


IAM_NO_WILDCARD_ACTIONS = ResourceValidationPolicy(
    name="iam-no-wildcard-actions",
    description="No IAM or resource policy statement allows '*' or 'service:*' actions.",
    validate=_validate,
)
