"""The evaluator's identity-policy rules against AWS's documented logic (IAM User Guide: "Policy
evaluation logic", "Permissions boundaries for IAM entities" (its "effective permissions"
figures), "IAM JSON policy elements: NotAction", "...: NotResource", "...: Resource"), and on AWS's
own PowerUserAccess as AWS publishes it (moto ships IAM's managed-policy list)."""

from __future__ import annotations

import pytest

from scripts.trust.policy_evaluation import Request, UnsupportedPolicyError, evaluate_identity
from tests.trust.account_iam import aws_managed_policy

ROLE = "arn:aws:iam::111122223333:role/app"
BUCKET = "arn:aws:s3:::example-bucket"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def request(action: str, resource: str, **context: str) -> Request:
    return Request(action, {"AWS": ROLE}, {"aws:PrincipalArn": ROLE, **context}, resource)


def allowed(identity: list[dict], req: Request, **kwargs) -> bool:
    return evaluate_identity(identity, req, **kwargs).allowed


def test_an_allow_is_needed_and_an_explicit_deny_wins():
    get = request("s3:GetObject", f"{BUCKET}/a")
    assert not allowed([], get)
    assert allowed([policy(allow("s3:GetObject", f"{BUCKET}/*"))], get)
    both = [policy(allow("s3:*", "*")), policy(deny("s3:GetObject", f"{BUCKET}/a"))]
    assert not allowed(both, get)


def test_resource_arns_match_case_sensitively_with_wildcards():
    identity = [policy(allow("s3:GetObject", f"{BUCKET}/logs/*"))]
    assert allowed(identity, request("s3:GetObject", f"{BUCKET}/logs/2026/x"))
    assert not allowed(identity, request("s3:GetObject", f"{BUCKET}/Logs/x"))
    assert not allowed(identity, request("s3:GetObject", f"{BUCKET}/other"))


def test_a_boundary_caps_but_never_grants():
    # The guide's figure: effective permissions are the intersection of identity and boundary.
    boundary = policy(allow(["s3:GetObject", "s3:ListBucket"], "*"))
    identity = [policy(allow(["s3:GetObject", "s3:PutObject"], "*"))]
    assert allowed(identity, request("s3:GetObject", f"{BUCKET}/a"), boundary=boundary)
    assert not allowed(identity, request("s3:PutObject", f"{BUCKET}/a"), boundary=boundary)
    assert not allowed(identity, request("s3:ListBucket", BUCKET), boundary=boundary)


def test_an_explicit_deny_in_the_boundary_wins():
    boundary = policy(allow("*", "*"), deny("s3:PutObject", f"{BUCKET}/state/*"))
    identity = [policy(allow("s3:*", "*"))]
    decision = evaluate_identity(
        identity, request("s3:PutObject", f"{BUCKET}/state/x"), boundary=boundary
    )
    assert not decision.allowed
    assert "permissions boundary" in decision.reason


def test_not_action_allows_everything_it_does_not_list():
    power_user = [aws_managed_policy("arn:aws:iam::aws:policy/PowerUserAccess")]
    assert allowed(power_user, request("ec2:RunInstances", "*"))
    assert allowed(power_user, request("kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k"))
    assert not allowed(power_user, request("iam:CreateRole", "arn:aws:iam::1:role/x"))
    # its second statement puts a few IAM actions back
    assert allowed(power_user, request("iam:CreateServiceLinkedRole", "*"))


def test_not_resource_in_a_deny_covers_everything_it_does_not_list():
    identity = [
        policy(
            allow("s3:GetObject", "*"),
            {"Effect": "Deny", "Action": "s3:GetObject", "NotResource": [f"{BUCKET}/public/*"]},
        )
    ]
    assert allowed(identity, request("s3:GetObject", f"{BUCKET}/public/a"))
    assert not allowed(identity, request("s3:GetObject", f"{BUCKET}/private/a"))


def test_the_resources_policy_can_grant_and_its_deny_wins():
    # Same account, the role's ARN as principal: the resource policy alone may allow (the
    # boundary still caps it); a Deny there wins over any identity allow.
    grant = policy({**allow("s3:GetObject", f"{BUCKET}/*"), "Principal": {"AWS": ROLE}})
    get = request("s3:GetObject", f"{BUCKET}/a")
    assert allowed([], get, resource_policy=grant)
    assert not allowed([], get, resource_policy=grant, boundary=policy(allow("sqs:*")))
    refuse = policy(
        {
            **deny("s3:GetObject", f"{BUCKET}/*"),
            "Principal": "*",
            "Condition": {"StringEquals": {"aws:PrincipalArn": ROLE}},
        }
    )
    assert not allowed([policy(allow("s3:*"))], get, resource_policy=refuse)
    other = request("s3:GetObject", f"{BUCKET}/a")
    other_role = Request(other.action, {"AWS": "x"}, {"aws:PrincipalArn": "x"}, other.resource)
    assert allowed([policy(allow("s3:*"))], other_role, resource_policy=refuse)


def test_what_it_cannot_evaluate_raises():
    with pytest.raises(UnsupportedPolicyError, match="needs the resource"):
        evaluate_identity([], Request("s3:GetObject", {"AWS": ROLE}))
    with pytest.raises(UnsupportedPolicyError, match="no Principal"):
        evaluate_identity(
            [policy({**allow("s3:GetObject"), "Principal": "*"})],
            request("s3:GetObject", f"{BUCKET}/a"),
        )
    with pytest.raises(UnsupportedPolicyError, match="NotPrincipal"):
        evaluate_identity(
            [],
            request("s3:GetObject", f"{BUCKET}/a"),
            resource_policy=policy({**deny("s3:*"), "NotPrincipal": {"AWS": ROLE}}),
        )
