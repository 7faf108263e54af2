"""The GitHub half against a stand-in for api.github.com (GITHUB_API_URL) answering recorded
bodies: each check passes on a repository wired as the stacks need and fails on one that is not,
for the repository kinds of issue 21 (user-owned public and private-on-Free, organisation private
on Team, organisation public with a merge queue). The plan rules are GitHub's documentation's
("Managing environments for deployment", "About rulesets", "About merge queues")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scripts.github_setup.repository import Repository
from scripts.preflight import github_checks
from scripts.preflight.stack_files import read_bootstrap_file
from tests.preflight.support import GitHubStandIn, bootstrap_settings, write_stack_files

ORG, NAME, ORG_ID, REPO_ID = "shipyard-org", "shipyard", 4242, 987654
REPO = f"{ORG}/{NAME}"
LEGACY = f"repo:{REPO}"
IMMUTABLE = f"repo:{ORG}@{ORG_ID}/{NAME}@{REPO_ID}"


def _repository(*, private: bool, owner_type: str = "Organization") -> dict[str, Any]:
    # The fields of GitHub's `full-repository` the checks read (GET /repos/{owner}/{repo}).
    return {
        "id": REPO_ID, "node_id": "R_kgDOExample", "name": NAME, "full_name": REPO,
        "private": private, "visibility": "private" if private else "public",
        "owner": {"login": ORG, "id": ORG_ID, "node_id": "O_kgDOExample", "type": owner_type},
        "default_branch": "main",
    }  # fmt: skip


def _serve_repository(
    github: GitHubStandIn, *, private: bool, owner_type: str = "Organization", plan: str | None
) -> None:
    github.answer(f"/repos/{REPO}", _repository(private=private, owner_type=owner_type))
    plan_body = {"name": plan, "space": 976562499, "private_repos": 9999} if plan else None
    if owner_type == "Organization":
        github.answer(
            f"/orgs/{ORG}",
            {"login": ORG, "id": ORG_ID, **({"plan": plan_body} if plan_body else {})},
        )
    else:
        # GitHub shows a user's plan to that user only: recorded as the owner's own token sees it.
        github.answer(
            f"/users/{ORG}",
            {
                "login": ORG,
                "id": ORG_ID,
                "type": "User",
                **({"plan": {**plan_body, "collaborators": 0}} if plan_body else {}),
            },
        )


def _subject(github: GitHubStandIn, body: dict[str, Any]) -> None:
    github.answer(f"/repos/{REPO}/actions/oidc/customization/sub", body)


def _environment(
    github: GitHubStandIn,
    name: str,
    *,
    policy: dict[str, bool] | None,
    branches: list[dict[str, str]],
    reviewers: bool = False,
) -> None:
    rules = (
        [
            {
                "id": 3755,
                "node_id": "MDQ6R2F0ZTM3NTU=",
                "type": "required_reviewers",
                "prevent_self_review": True,
                "reviewers": [],
            }
        ]
        if reviewers
        else []
    )
    github.answer(
        f"/repos/{REPO}/environments/{name}",
        {"id": 161088068, "node_id": "MDExOkVudmlyb25tZW50MTYxMDg4MDY4", "name": name,
         "url": f"https://api.github.com/repos/{REPO}/environments/{name}",
         "html_url": f"https://github.com/{REPO}/deployments/activity_log?environments_filter={name}",
         "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z",
         "protection_rules": rules, "deployment_branch_policy": policy},
    )  # fmt: skip
    github.answer(
        f"/repos/{REPO}/environments/{name}/deployment-branch-policies",
        {"total_count": len(branches),
         "branch_policies": [
             {"id": 361471 + i, "node_id": f"MDE2OkdhdGVCcmFuY2hQb2xpY3kzNjE0Nz{i}", **b}
             for i, b in enumerate(branches)
         ]},
    )  # fmt: skip


def _rules(github: GitHubStandIn, *types: str) -> None:
    github.answer(
        f"/repos/{REPO}/rules/branches/main",
        [
            {
                "type": t,
                "ruleset_source_type": "Repository",
                "ruleset_source": REPO,
                "ruleset_id": 42,
            }
            for t in types
        ],
    )


CUSTOM_MAIN = {"protected_branches": False, "custom_branch_policies": True}


@pytest.fixture
def api(github: GitHubStandIn):
    with github_checks.client("ghp_recorded", base_url=github_checks.api_url()) as client:
        yield client


def _repo(
    api, github: GitHubStandIn, subject: dict[str, Any] | None = None, **kinds: Any
) -> Repository:
    """The repository as read before the checks (the subject template is read with it)."""
    _serve_repository(github, **kinds)
    _subject(github, subject or {"use_default": True, "sub_claim_prefix": LEGACY})
    found = github_checks.check_repository(api, REPO)
    assert isinstance(found, Repository), found
    return found


def _bootstrap(tmp_path: Path, **overrides: Any):
    return read_bootstrap_file(
        "shipyard", write_stack_files(tmp_path, bootstrap_config=bootstrap_settings(**overrides))
    )


# --- the repository -------------------------------------------------------------------------------


def test_repository_is_read_with_its_owner_and_plan(api, github):
    repo = _repo(api, github, private=True, plan="team")
    assert (repo.owner_type, repo.visibility, repo.plan) == ("Organization", "private", "team")
    assert repo.kind == "organisation-owned private repository (GitHub Team)"


def test_repository_plan_is_unknown_when_the_token_may_not_see_it(api, github):
    _serve_repository(github, private=True, owner_type="User", plan=None)
    _subject(github, {"use_default": True})
    repo = github_checks.check_repository(api, REPO)
    assert isinstance(repo, Repository)
    assert repo.plan is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [(404, "not visible to this token (404)"), (401, "refused the token (401)")],
)
def test_repository_fails_when_the_token_cannot_read_it(api, github, status, expected):
    github.answer(f"/repos/{REPO}", {"message": "Not Found"}, status=status)
    result = github_checks.check_repository(api, REPO)
    assert not isinstance(result, Repository)
    assert result.failed
    assert expected in result.detail


def test_every_request_is_a_get_with_the_token_and_the_api_version(api, github, tmp_path):
    repo = _repo(api, github, private=False, plan=None)
    _environment(
        github, "staging", policy=CUSTOM_MAIN, branches=[{"name": "main", "type": "branch"}]
    )
    _rules(github, "pull_request", "required_status_checks")
    github_checks.check_environment(api, repo, "staging", "main")
    github_checks.check_branch_rules(api, repo, "main")
    asked = {path.split("?")[0] for _method, path, _headers in github.requests}
    assert len(asked) == 6  # repository, owner, subject, environment, its branches, rules
    assert {method for method, _path, _headers in github.requests} == {"GET"}  # read-only
    for _method, _path, headers in github.requests:
        assert headers["Authorization"] == "Bearer ghp_recorded"
        assert headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_the_api_url_is_githubs_own_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3/")
    assert github_checks.api_url() == "https://ghe.example.com/api/v3"
    monkeypatch.delenv("GITHUB_API_URL")
    assert github_checks.api_url() == "https://api.github.com"


def test_the_token_comes_from_github_token_or_gh_token(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GH_TOKEN", "gho_cli")
    assert github_checks.token_from_environment() == "gho_cli"
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_first")
    assert github_checks.token_from_environment() == "ghp_first"
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.delenv("GH_TOKEN")
    assert github_checks.token_from_environment() is None


# --- the OIDC subject -----------------------------------------------------------------------------


def test_subject_passes_when_the_bootstrap_trusts_the_repositorys_prefix(api, github, tmp_path):
    subject = {"use_default": True, "use_immutable_subject": True, "sub_claim_prefix": IMMUTABLE}
    repo = _repo(api, github, subject, private=False, plan=None)
    bootstrap = _bootstrap(tmp_path, github_sub_claim_prefix=IMMUTABLE)
    assert github_checks.check_subject_prefix(repo, bootstrap).status == "ok"


def test_subject_fails_for_a_new_repository_when_the_bootstrap_trusts_the_legacy_form(
    api, github, tmp_path
):
    subject = {"use_default": True, "use_immutable_subject": True, "sub_claim_prefix": IMMUTABLE}
    repo = _repo(api, github, subject, private=False, plan=None)
    result = github_checks.check_subject_prefix(repo, _bootstrap(tmp_path))  # as shipped: legacy
    assert result.failed
    assert f"carry {IMMUTABLE}:..., but the bootstrap trusts {LEGACY}:..." in result.detail
    assert f"github_sub_claim_prefix: {IMMUTABLE}" in result.fix


def test_subject_fails_for_a_legacy_repository_when_the_bootstrap_trusts_the_immutable_form(
    api, github, tmp_path
):
    repo = _repo(api, github, private=False, plan=None)  # legacy sub_claim_prefix
    result = github_checks.check_subject_prefix(
        repo, _bootstrap(tmp_path, github_sub_claim_prefix=IMMUTABLE)
    )
    assert result.failed
    assert f"but the bootstrap trusts {IMMUTABLE}:..." in result.detail


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ({"use_default": True, "use_immutable_subject": True}, IMMUTABLE),
        ({"use_default": True}, LEGACY),
        ({"use_default": False, "include_claim_keys": ["repo", "context"]}, LEGACY),
    ],
    ids=["immutable", "legacy", "default-template-spelt-out"],
)
def test_subject_prefix_is_derived_when_github_does_not_state_it(api, github, subject, expected):
    # GitHub's OIDC reference: the default template is repo + context, in either form.
    repo = _repo(api, github, subject, private=False, plan=None)
    assert repo.sub_claim_prefix == expected


def test_subject_fails_for_a_customised_template(api, github, tmp_path):
    # Even where GitHub states a prefix: what follows it is not what the roles trust.
    subject = {"use_default": False, "include_claim_keys": ["repo", "context", "job_workflow_ref"],
               "sub_claim_prefix": LEGACY}  # fmt: skip
    repo = _repo(api, github, subject, private=False, plan=None)
    result = github_checks.check_subject_prefix(repo, _bootstrap(tmp_path))
    assert result.failed
    assert "subject template is customised" in result.detail


# --- the plan against the wiring ------------------------------------------------------------------


def test_plan_passes_for_an_organisations_public_repository_with_a_merge_queue(api, github):
    repo = _repo(api, github, private=False, plan="free")
    result = github_checks.check_plan(repo)
    assert result.status == "ok", result
    assert "merge queue: yes" in result.detail


def test_plan_passes_for_an_organisations_private_repository_on_team(api, github):
    repo = _repo(api, github, private=True, plan="team")
    result = github_checks.check_plan(repo)
    assert result.status == "ok", result
    assert "environments with deployment branches: yes; required reviewers: no" in result.detail
    assert "merge queue: no" in result.detail


def test_plan_passes_for_a_users_public_repository_without_a_merge_queue(api, github):
    repo = _repo(api, github, private=False, owner_type="User", plan="free")
    result = github_checks.check_plan(repo)
    assert result.status == "ok", result
    assert "required reviewers: yes; rulesets: yes; merge queue: no" in result.detail


def test_plan_fails_for_a_users_private_repository_on_free(api, github):
    repo = _repo(api, github, private=True, owner_type="User", plan="free")
    result = github_checks.check_plan(repo)
    assert result.failed
    assert "any branch could name `environment: production`" in result.detail
    assert "public" in result.fix


def test_plan_fails_as_free_when_the_token_may_not_read_it(api, github):
    # The set-up's cautious guess (scripts/github_setup/repository.py): nothing is assumed.
    repo = _repo(api, github, private=True, plan=None)
    result = github_checks.check_plan(repo)
    assert result.failed
    assert "the plan is not readable with this token, so GitHub Free is assumed" in result.detail


# --- the environment ------------------------------------------------------------------------------


def test_environment_passes_when_only_main_may_deploy(api, github):
    repo = _repo(api, github, private=False, plan=None)
    _environment(
        github,
        "production",
        policy=CUSTOM_MAIN,
        branches=[{"name": "main", "type": "branch"}],
        reviewers=True,
    )
    result = github_checks.check_environment(api, repo, "production", "main")
    assert result.status == "ok", result
    assert result.detail == "deploys only from main; required reviewers"


def test_environment_fails_when_it_does_not_exist(api, github):
    repo = _repo(api, github, private=False, plan=None)
    result = github_checks.check_environment(api, repo, "production", "main")
    assert result.failed
    assert "has no environment 'production'" in result.detail
    assert "python -m scripts.github_setup --repo shipyard-org/shipyard" in result.fix


@pytest.mark.parametrize(
    ("policy", "branches", "expected"),
    [
        (None, [], "every branch may deploy"),
        ({"protected_branches": True, "custom_branch_policies": False}, [], "any protected branch"),
        (
            CUSTOM_MAIN,
            [{"name": "main", "type": "branch"}, {"name": "release/*", "type": "branch"}],
            "branch:main, branch:release/*",
        ),
        (CUSTOM_MAIN, [{"name": "main", "type": "tag"}], "deployment branches are tag:main"),
        (CUSTOM_MAIN, [], "deployment branches are none"),
    ],
    ids=["no-policy", "protected-branches", "extra-pattern", "tag-not-branch", "no-branch"],
)
def test_environment_fails_unless_restricted_to_main_alone(api, github, policy, branches, expected):
    repo = _repo(api, github, private=False, plan=None)
    _environment(github, "production", policy=policy, branches=branches)
    result = github_checks.check_environment(api, repo, "production", "main")
    assert result.failed
    assert expected in result.detail


def test_environment_is_skipped_where_the_plan_has_none(api, github):
    repo = _repo(api, github, private=True, owner_type="User", plan="free")
    assert github_checks.check_environment(api, repo, "production", "main").status == "skip"


# --- the rules on main ----------------------------------------------------------------------------


def test_branch_rules_pass_with_reviews_and_required_checks(api, github):
    repo = _repo(api, github, private=False, plan=None)
    _rules(
        github,
        "deletion",
        "non_fast_forward",
        "pull_request",
        "required_status_checks",
        "merge_queue",
    )
    result = github_checks.check_branch_rules(api, repo, "main")
    assert result.status == "ok", result
    assert "with a merge queue" in result.detail


def test_branch_rules_fail_when_main_takes_unreviewed_pushes(api, github):
    repo = _repo(api, github, private=True, plan="team")
    _rules(github, "deletion", "required_status_checks")
    result = github_checks.check_branch_rules(api, repo, "main")
    assert result.failed
    assert "main lacks pull_request" in result.detail


def test_branch_rules_are_skipped_where_the_plan_has_no_rulesets(api, github):
    repo = _repo(api, github, private=True, owner_type="User", plan="free")
    result = github_checks.check_branch_rules(api, repo, "main")
    assert result.status == "skip"
    assert "without review" in result.detail


def test_an_answer_that_is_not_githubs_fails_the_check_without_a_traceback(tmp_path, github):
    # GITHUB_API_URL pointing at a web page, not the API: the run reports it like any failure.
    from scripts.preflight.__main__ import github_results
    from scripts.preflight.stack_files import read_stack_file

    root = write_stack_files(tmp_path)
    github.routes[f"/repos/{REPO}"] = (200, "<html>sign in</html>")
    results = list(
        github_results("ghp_recorded", read_stack_file("staging", root), _bootstrap(tmp_path))
    )
    assert results[0].failed
    assert "answered something that is not a repository" in results[0].detail
    assert results[1].status == "skip"
