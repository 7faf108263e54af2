"""Who may preview: forks and Dependabot are skipped with a reason, never failed."""

from __future__ import annotations

import json

import pytest

from scripts.deploy.preview_gate import decide, main, missing_variables, required_variables
from scripts.deploy.stacks import read_stacks

REPO = "acme/shipyard"


def _pull_request(head_repo: str | None, author: str = "octocat") -> dict:
    return {
        "pull_request": {
            "number": 7,
            "user": {"login": author},
            "head": {"repo": {"full_name": head_repo} if head_repo else None},
        }
    }


def _decide(event_name="pull_request", event=None, actor="octocat", missing=()):
    return decide(
        event_name=event_name,
        event=event if event is not None else _pull_request(REPO),
        repository=REPO,
        actor=actor,
        missing_variables=list(missing),
    )


def test_a_branch_of_this_repository_previews():
    assert _decide().run is True


def test_a_fork_is_skipped_and_told_why():
    decision = _decide(event=_pull_request("mallory/shipyard"), actor="mallory")
    assert decision.run is False
    assert "mallory/shipyard" in decision.reason
    assert "no secrets" in decision.reason


def test_a_deleted_fork_is_skipped():
    decision = _decide(event=_pull_request(None))
    assert decision.run is False
    assert "deleted fork" in decision.reason


@pytest.mark.parametrize(
    ("actor", "author"), [("dependabot[bot]", "dependabot[bot]"), ("octocat", "dependabot[bot]")]
)
def test_dependabot_is_skipped(actor, author):
    decision = _decide(event=_pull_request(REPO, author=author), actor=actor)
    assert decision.run is False
    assert "Dependabot" in decision.reason


def test_the_merge_queue_previews():
    assert _decide(event_name="merge_group", event={"merge_group": {"head_sha": "abc"}}).run is True


def test_an_unwired_repository_is_skipped_naming_the_missing_variables_and_the_docs():
    decision = _decide(missing=["AWS_PLAN_ROLE_ARN_PROD", "PULUMI_BACKEND_URL_PROD"])
    assert decision.run is False
    assert "AWS_PLAN_ROLE_ARN_PROD, PULUMI_BACKEND_URL_PROD are not set" in decision.reason
    assert "docs/getting-started-on-aws.md" in decision.reason


# What the shipped stacks.yaml requires: staging is previewed on pull requests (its preview
# role), both stacks in the merge queue (their plan roles), both need their state's backend.
SHIPPED_VARIABLES = {
    "AWS_PREVIEW_ROLE_ARN_STAGING": "arn:aws:iam::123456789012:role/preview-staging",
    "AWS_PLAN_ROLE_ARN_STAGING": "arn:aws:iam::123456789012:role/plan-staging",
    "AWS_PLAN_ROLE_ARN_PROD": "arn:aws:iam::123456789012:role/plan-prod",
    "PULUMI_BACKEND_URL_STAGING": "s3://state-bucket",
    "PULUMI_BACKEND_URL_PROD": "s3://state-bucket",
}


def test_the_required_variables_follow_stacks_yaml():
    assert required_variables(read_stacks()) == [
        "AWS_PREVIEW_ROLE_ARN_STAGING",
        "AWS_PLAN_ROLE_ARN_STAGING",
        "PULUMI_BACKEND_URL_STAGING",
        "AWS_PLAN_ROLE_ARN_PROD",
        "PULUMI_BACKEND_URL_PROD",
    ]
    assert set(required_variables(read_stacks())) == set(SHIPPED_VARIABLES)


@pytest.mark.parametrize("unset", sorted(SHIPPED_VARIABLES))
def test_each_required_variable_unset_or_empty_skips_the_previews_naming_it(unset):
    stacks = read_stacks()
    assert missing_variables({"REPOSITORY_VARIABLES": json.dumps(SHIPPED_VARIABLES)}, stacks) == []
    without = {k: v for k, v in SHIPPED_VARIABLES.items() if k != unset}
    emptied = {**SHIPPED_VARIABLES, unset: ""}
    for variables in (without, emptied):
        environ = {"REPOSITORY_VARIABLES": json.dumps({**variables, "UNRELATED": "x"})}
        assert missing_variables(environ, stacks) == [unset]


def test_no_variables_passed_counts_every_one_as_missing():
    stacks = read_stacks()
    for environ in ({}, {"REPOSITORY_VARIABLES": "not json"}, {"REPOSITORY_VARIABLES": "[]"}):
        assert missing_variables(environ, stacks) == required_variables(stacks)


def test_main_reads_the_event_and_writes_outputs(tmp_path, github_files):
    event = tmp_path / "event.json"
    event.write_text(json.dumps(_pull_request("mallory/shipyard")))

    code = main(
        {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_ACTOR": "mallory",
            "REPOSITORY_VARIABLES": json.dumps(SHIPPED_VARIABLES),
        }
    )

    files = github_files()
    assert code == 0  # a skip is not a failure
    assert "run=false\n" in files["output"]
    assert "reason=pull request from mallory/shipyard" in files["output"]
    assert "Pulumi preview skipped" in files["summary"]


def test_main_treats_missing_variables_as_unconfigured(tmp_path, github_files):
    event = tmp_path / "event.json"
    event.write_text(json.dumps(_pull_request(REPO)))

    main(
        {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPO,
        }
    )

    assert "run=false\n" in github_files()["output"]


def test_main_previews_a_same_repository_pull_request_with_every_variable_set(
    tmp_path, github_files
):
    """The control of the skips above: the same run, wired, previews."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps(_pull_request(REPO)))

    main(
        {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPO,
            "REPOSITORY_VARIABLES": json.dumps(SHIPPED_VARIABLES),
        }
    )

    assert "run=true\n" in github_files()["output"]
