"""Who may preview: forks and Dependabot are skipped with a reason, never failed."""

from __future__ import annotations

import json

import pytest

from scripts.deploy.preview_gate import decide, main

REPO = "acme/shipyard"


def _pull_request(head_repo: str | None, author: str = "octocat") -> dict:
    return {
        "pull_request": {
            "number": 7,
            "user": {"login": author},
            "head": {"repo": {"full_name": head_repo} if head_repo else None},
        }
    }


def _decide(event_name="pull_request", event=None, actor="octocat", role=True, backend=True):
    return decide(
        event_name=event_name,
        event=event if event is not None else _pull_request(REPO),
        repository=REPO,
        actor=actor,
        preview_role_configured=role,
        backend_configured=backend,
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


@pytest.mark.parametrize(
    ("role", "backend", "missing"),
    [(False, True, "AWS_PREVIEW_ROLE_ARN"), (True, False, "PULUMI_BACKEND_URL_<STACK>")],
)
def test_an_unwired_repository_is_skipped_with_a_pointer_to_the_docs(role, backend, missing):
    decision = _decide(role=role, backend=backend)
    assert decision.run is False
    assert missing in decision.reason
    assert "docs/getting-started-on-aws.md" in decision.reason


def test_main_reads_the_event_and_writes_outputs(tmp_path, github_files):
    event = tmp_path / "event.json"
    event.write_text(json.dumps(_pull_request("mallory/shipyard")))

    code = main(
        {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_ACTOR": "mallory",
            "PREVIEW_ROLE_CONFIGURED": "true",
            "BACKEND_CONFIGURED": "true",
        }
    )

    files = github_files()
    assert code == 0  # a skip is not a failure
    assert "run=false\n" in files["output"]
    assert "reason=pull request from mallory/shipyard" in files["output"]
    assert "Pulumi preview skipped" in files["summary"]


def test_main_treats_missing_configuration_flags_as_unconfigured(tmp_path, github_files):
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
