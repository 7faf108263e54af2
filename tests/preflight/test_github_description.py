"""The recorded GitHub answers' guard (github_description.py) refuses what GitHub would not send:
the controls that show the recorded answers in test_github_checks.py are held to something."""

from __future__ import annotations

import pytest

from tests.preflight.github_description import operation_of, problems

SUB = "/repos/acme/shop/actions/oidc/customization/sub"


def test_recorded_answers_map_to_the_operations_the_preflight_sends():
    assert operation_of("/repos/acme/shop") == "GET /repos/{owner}/{repo}"
    assert operation_of("/repos/acme/shop/environments/production/deployment-branch-policies") == (
        "GET /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies"
    )
    assert operation_of("/repos/acme/shop/rules/branches/main") == (
        "GET /repos/{owner}/{repo}/rules/branches/{branch}"
    )


def test_an_answer_with_the_fields_github_documents_passes():
    body = {"use_default": True, "use_immutable_subject": True, "sub_claim_prefix": "repo:a@1/b@2"}
    assert problems(SUB, body) == []


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            SUB,
            {"use_default": True, "sub_claims_prefix": "repo:a/b"},
            "$.sub_claims_prefix is not a field",
        ),
        (SUB, {"use_default": "true"}, "$.use_default='true' is not of type boolean"),
        (
            "/repos/acme/shop",
            {"owner": {"login": "acme", "id": "7"}},
            "$.owner.id='7' is not of type integer",
        ),
        ("/repos/acme/shop/rules/branches/main", [{"type": "pull_requests"}], "$[0] fits none of"),
        (
            "/repos/acme/shop/environments/production",
            {"deployment_branch_policy": {"custom_branches": True}},
            "custom_branches",
        ),
        ("/repos/acme/shop/branches/main/protection", {}, "is not an operation"),
    ],
    ids=[
        "misspelt-field",
        "wrong-type",
        "nested-wrong-type",
        "unknown-rule-type",
        "nested-misspelt",
        "unknown-path",
    ],
)
def test_an_answer_github_would_not_send_is_refused(path, body, expected):
    found = problems(path, body)
    assert any(expected in problem for problem in found), found
