"""The trust-policy evaluator against AWS's documented semantics and examples (IAM User Guide:
"Condition operators", "Conditions with multiple context keys or values", "Single-valued vs.
multivalued context keys", "Policy evaluation logic"). Each case cites the rule it checks."""

from __future__ import annotations

import pytest

from scripts.trust.policy_evaluation import (
    Request,
    UnsupportedPolicyError,
    condition_holds,
    evaluate,
    wildcard_match,
)

PROVIDER = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
SUB = "token.actions.githubusercontent.com:sub"
AUD = "token.actions.githubusercontent.com:aud"


def trust(condition: dict, effect: str = "Allow") -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": effect,
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }
        ],
    }


def assume(document: dict, sub: str, aud: str = "sts.amazonaws.com", **principal: str) -> bool:
    request = Request(
        action="sts:AssumeRoleWithWebIdentity",
        principal=principal or {"Federated": PROVIDER},
        context={SUB: sub, AUD: aud},
    )
    return evaluate(document, request).allowed


# --- the GitHub example from AWS's "Configuring a role for GitHub OIDC identity provider" -------


def test_the_documented_github_trust_policy_admits_its_branch_and_nothing_else():
    documented = trust(
        {
            "StringEquals": {AUD: "sts.amazonaws.com"},
            "StringLike": {SUB: "repo:GitHubOrg/GitHubRepo:ref:refs/heads/GitHubBranch"},
        }
    )
    assert assume(documented, "repo:GitHubOrg/GitHubRepo:ref:refs/heads/GitHubBranch")
    assert not assume(documented, "repo:GitHubOrg/GitHubRepo:ref:refs/heads/other")
    assert not assume(documented, "repo:GitHubOrg/GitHubRepo:ref:refs/heads/GitHubBranch", aud="x")


# --- string operators ----------------------------------------------------------------------------


def test_string_equals_is_exact_and_case_sensitive():
    policy = trust({"StringEquals": {SUB: "repo:o/r:environment:production"}})
    assert assume(policy, "repo:o/r:environment:production")
    assert not assume(policy, "repo:o/r:environment:Production")
    assert not assume(policy, "repo:o/r:environment:production2")


def test_string_equals_treats_a_star_as_a_literal_character():
    policy = trust({"StringEquals": {SUB: "repo:o/r:*"}})
    assert not assume(policy, "repo:o/r:pull_request")
    assert assume(policy, "repo:o/r:*")


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        (
            "repo:o/r:ref:refs/heads/gh-readonly-queue/main/*",
            "repo:o/r:ref:refs/heads/gh-readonly-queue/main/pr-7-abc",
            True,
        ),
        (
            "repo:o/r:ref:refs/heads/gh-readonly-queue/main/*",
            "repo:o/r:ref:refs/heads/gh-readonly-queue/dev/pr-7-abc",
            False,
        ),
        ("repo:o/r:*", "repo:o/r:", True),  # `*` matches the empty string too
        ("repo:o/r:environment:prod?", "repo:o/r:environment:prod1", True),
        ("repo:o/r:environment:prod?", "repo:o/r:environment:prod", False),  # `?` is exactly one
        ("repo:o/r:environment:prod?", "repo:o/r:environment:prod12", False),
        ("repo:o/r:[a-z]", "repo:o/r:a", False),  # no character classes: `[` is literal
        ("repo:O/R:*", "repo:o/r:pull_request", False),  # StringLike is case-sensitive
    ],
)
def test_string_like_wildcards(pattern, value, matches):
    assert wildcard_match(pattern, value) is matches
    assert assume(trust({"StringLike": {SUB: pattern}}), value) is matches


def test_ignore_case_operators():
    assert assume(
        trust({"StringEqualsIgnoreCase": {SUB: "REPO:O/R:PULL_REQUEST"}}), "repo:o/r:pull_request"
    )
    assert not assume(
        trust({"StringNotEqualsIgnoreCase": {SUB: "REPO:O/R:PULL_REQUEST"}}),
        "repo:o/r:pull_request",
    )


# --- several values, keys and operators --------------------------------------------------------


def test_several_values_for_one_key_are_ored():
    policy = trust(
        {"StringEquals": {SUB: ["repo:o/r:pull_request", "repo:o/r:ref:refs/heads/main"]}}
    )
    assert assume(policy, "repo:o/r:pull_request")
    assert assume(policy, "repo:o/r:ref:refs/heads/main")
    assert not assume(policy, "repo:o/r:ref:refs/heads/dev")


def test_several_values_of_a_negated_operator_are_nored():
    # AWS's example: StringNotEquals with two values is true only if the value is neither.
    policy = trust(
        {"StringNotEquals": {SUB: ["repo:o/r:pull_request", "repo:o/r:ref:refs/heads/main"]}}
    )
    assert not assume(policy, "repo:o/r:pull_request")
    assert not assume(policy, "repo:o/r:ref:refs/heads/main")
    assert assume(policy, "repo:o/r:ref:refs/heads/dev")


def test_several_keys_under_one_operator_are_anded():
    policy = trust({"StringEquals": {SUB: "repo:o/r:pull_request", AUD: "sts.amazonaws.com"}})
    assert assume(policy, "repo:o/r:pull_request")
    assert not assume(policy, "repo:o/r:pull_request", aud="something-else")


def test_several_operators_are_anded():
    policy = trust(
        {"StringLike": {SUB: "repo:o/r:*"}, "StringNotEquals": {SUB: "repo:o/r:pull_request"}}
    )
    assert assume(policy, "repo:o/r:ref:refs/heads/main")
    assert not assume(policy, "repo:o/r:pull_request")


# --- missing keys --------------------------------------------------------------------------------


def test_a_missing_key_fails_a_positive_operator_and_passes_a_negated_one():
    # "If the key that you specify in a policy condition is not present in the request context,
    # the values do not match and the condition is false. If the policy condition requires that
    # the key is not matched, such as StringNotLike ..., and the right key is not present, the
    # condition is true."
    assert not condition_holds(
        {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {}
    )
    assert condition_holds({"StringNotLike": {"aws:PrincipalTag/job-category": "iamuser-*"}}, {})


def test_if_exists_passes_when_the_key_is_absent_and_checks_it_when_present():
    condition = {"StringEqualsIfExists": {"ec2:InstanceType": ["t1.*", "t2.*"]}}
    assert condition_holds(condition, {})
    assert not condition_holds(condition, {"ec2:InstanceType": "m5.large"})


def test_null_checks_presence():
    assert condition_holds({"Null": {"aws:TokenIssueTime": "true"}}, {})
    assert not condition_holds({"Null": {"aws:TokenIssueTime": "false"}}, {})


def test_condition_key_names_are_case_insensitive_values_are_not():
    assert condition_holds(
        {"StringEquals": {"AWS:PrincipalTag/Team": "blue"}}, {"aws:principaltag/team": "blue"}
    )
    assert not condition_holds(
        {"StringEquals": {"aws:PrincipalTag/Team": "blue"}}, {"aws:PrincipalTag/Team": "Blue"}
    )


# --- set operators (AWS's aws:TagKeys examples) ---------------------------------------------------


def test_for_all_values_holds_when_every_request_value_is_allowed_and_for_a_missing_key():
    condition = {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}
    assert condition_holds(condition, {"aws:TagKeys": ["environment"]})
    assert condition_holds(condition, {"aws:TagKeys": ["environment", "cost-center"]})
    assert not condition_holds(condition, {"aws:TagKeys": ["environment", "owner"]})
    assert condition_holds(condition, {})  # documented: true when the key is missing


def test_for_any_value_holds_when_one_request_value_is_allowed_and_fails_for_a_missing_key():
    condition = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}
    assert condition_holds(condition, {"aws:TagKeys": ["owner", "environment"]})
    assert not condition_holds(condition, {"aws:TagKeys": ["owner"]})
    assert not condition_holds(condition, {})


# --- statements ----------------------------------------------------------------------------------


def test_an_explicit_deny_wins_over_an_allow():
    document = trust({"StringLike": {SUB: "repo:o/r:*"}})
    document["Statement"].append(
        {
            **document["Statement"][0],
            "Effect": "Deny",
            "Condition": {"StringEquals": {SUB: "repo:o/r:pull_request"}},
        }
    )
    assert assume(document, "repo:o/r:ref:refs/heads/main")
    assert not assume(document, "repo:o/r:pull_request")


def test_another_accounts_provider_is_not_the_principal():
    document = trust({"StringLike": {SUB: "repo:o/r:*"}})
    other = PROVIDER.replace("111122223333", "444455556666")
    assert not assume(document, "repo:o/r:pull_request", Federated=other)


def test_what_it_cannot_evaluate_raises_instead_of_passing():
    with pytest.raises(UnsupportedPolicyError, match="NumericLessThan"):
        condition_holds({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {})
    with pytest.raises(UnsupportedPolicyError, match="policy variable"):
        condition_holds({"StringEquals": {SUB: "repo:${aws:username}:*"}}, {SUB: "x"})
