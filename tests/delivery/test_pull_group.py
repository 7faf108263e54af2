"""The destructive-change gate judges every pull request of a merge group or a deploy.

A recorded merge group of two pull requests (tests/delivery/data/github/merge_group_two_pulls.json):
#102 renames the uploads bucket (a replacement, labelled `allow-destructive:staging` by a
reviewer), #101 adds an index and carries no label. The queue's head ref names only #102: a gate
reading the head ref (the behaviour before issue 21) approved the group on #102's label.
"""

from __future__ import annotations

import json
from copy import deepcopy
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from scripts.deploy import destructive_gate, pull_group
from scripts.deploy.destructive_gate import judge, labels_of_group
from scripts.deploy.errors import DeployError
from scripts.deploy.plan_json import load_plan
from scripts.deploy.pull_group import GitHub, collect, queue_message_number
from tests.delivery.support import DATA, recorded

REPOSITORY = "shipyard-org/shipyard"
LABEL = "allow-destructive:staging"
PLAN = DATA / "plans" / "staging-replace-bucket.json"


def _client(answers: dict[str, Any]) -> httpx.Client:
    def respond(request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        if path not in answers:
            return httpx.Response(404, json={"message": "Not Found"})
        body = answers[path]
        page = int(request.url.params.get("page", "1"))
        if isinstance(body, list) and page > 1:
            body = []
        return httpx.Response(200, json=body)

    return httpx.Client(base_url="https://api.github.com", transport=httpx.MockTransport(respond))


def _group(answers: dict[str, Any] | None = None, *, event: str = "merge_group"):
    data = recorded("github/merge_group_two_pulls.json")
    queue = data["event"]["merge_group"]
    github = GitHub(_client(answers or data["answers"]), REPOSITORY)
    return collect(github, event=event, base=queue["base_sha"], head=queue["head_sha"])  # type: ignore[arg-type]


def _argv(out: Path, *, event: str = "merge_group", base: str = "a1" * 20, head: str = "c3" * 20):
    """pull_group's command line as the workflows give it (the recorded queue's base and head)."""
    return [
        "--repository",
        REPOSITORY,
        "--event",
        event,
        "--base",
        base,
        "--head",
        head,
        "--output",
        str(out),
    ]


def _gate(group_file: Path) -> int:
    return destructive_gate.main(
        ["--stack", "staging", "--plan", str(PLAN), "--group", str(group_file)]
    )


def _answers_with_101_labelled_by(actor: str) -> dict[str, Any]:
    """The recorded group, #101 now carrying the label, added by `actor`."""
    answers = deepcopy(recorded("github/merge_group_two_pulls.json")["answers"])
    base = f"/repos/{REPOSITORY}"
    answers[f"{base}/pulls/101"]["labels"].append({"name": LABEL})
    answers[f"{base}/issues/101/events"] = [
        {
            "event": "labeled",
            "actor": {"login": actor},
            "created_at": "2026-12-07T11:00:00Z",
            "label": {"name": LABEL},
        }
    ]
    return answers


def test_both_pull_requests_of_the_group_are_found_from_the_queues_commits():
    group = _group()
    assert [p.number for p in group.pulls] == [101, 102]
    assert group.unattributed == ()
    assert {p.number: p.author for p in group.pulls} == {101: "dev-two", 102: "dev-one"}


def test_one_pull_requests_label_does_not_approve_the_group():
    group = _group()
    assert pull_group.common_labels(group) == frozenset()  # what the comment shows
    labels, origin = labels_of_group(group, "staging")
    assert labels == frozenset()
    assert "#101 lack" in origin
    verdict = judge(load_plan(PLAN), stack="staging", labels=labels)
    assert not verdict.allowed
    assert verdict.destructive


def test_control_the_head_ref_alone_would_have_approved_it():
    head_ref_pull = _group().pulls[-1]  # pr-102 in gh-readonly-queue/main/pr-102-<sha>
    verdict = judge(load_plan(PLAN), stack="staging", labels=head_ref_pull.labels)
    assert verdict.allowed  # what issue 21, item 6 reported


def test_the_group_passes_when_every_pull_request_carries_the_label_added_by_another(
    tmp_path, capsys
):
    out = tmp_path / "group.json"
    assert (
        pull_group.main(_argv(out), client=_client(_answers_with_101_labelled_by("reviewer-b")))
        == 0
    )
    assert _gate(out) == 0
    printed = capsys.readouterr().out
    assert "#101 approved by @reviewer-b" in printed
    assert "#102 approved by @reviewer-a" in printed


def test_a_label_its_own_author_added_is_refused_naming_the_pull_request(tmp_path, capsys):
    out = tmp_path / "group.json"
    assert (
        pull_group.main(_argv(out), client=_client(_answers_with_101_labelled_by("dev-two"))) == 0
    )
    assert _gate(out) == 1
    assert (
        "pull request #101: `allow-destructive:staging` was added by @dev-two"
        in capsys.readouterr().out
    )


def test_the_unlabelled_group_fails_the_command_naming_what_lacks_the_label(tmp_path, capsys):
    out = tmp_path / "group.json"
    data = recorded("github/merge_group_two_pulls.json")
    assert pull_group.main(_argv(out), client=_client(data["answers"])) == 0
    assert json.loads(out.read_text())["pulls"][1]["number"] == 102
    assert _gate(out) == 1
    assert "#101 lack `allow-destructive:staging`" in capsys.readouterr().out


def test_a_deploy_counts_merged_pull_requests_and_a_direct_push_approves_nothing():
    data = recorded("github/merge_group_two_pulls.json")
    answers = deepcopy(data["answers"])
    base = f"/repos/{REPOSITORY}"
    first, second = (
        c["sha"] for c in answers[f"{base}/compare/{'a1' * 20}...{'c3' * 20}"]["commits"]
    )
    merged = dict(answers[f"{base}/pulls/102"], merged_at="2026-12-07T12:00:00Z", state="closed")
    answers[f"{base}/commits/{second}/pulls"] = [merged]
    answers[f"{base}/commits/{first}/pulls"] = []  # pushed straight to main
    group = _group(answers, event="push")
    assert [p.number for p in group.pulls] == [102]
    assert group.unattributed == (first,)
    labels, origin = labels_of_group(group, "staging")
    assert labels == frozenset()
    assert "came from no pull request" in origin


def test_a_rollback_has_no_pull_request_and_no_approval():
    github = GitHub(_client({}), REPOSITORY)
    group = collect(github, event="push", base="", head="c3" * 20)
    assert group.pulls == ()
    assert group.unattributed == ()
    assert labels_of_group(group, "prod")[0] == frozenset()


@pytest.mark.parametrize(
    ("message", "number"),
    [
        ("Rename the uploads bucket (#102)", 102),
        ("Merge pull request #7 from octo/feature\n\nbody", 7),
        ("Fix (#12) in the middle", None),
        ("", None),
    ],
)
def test_only_the_commit_forms_the_merge_queue_writes_name_a_pull_request(message, number):
    assert queue_message_number(message) == number


def test_an_api_error_is_one_sentence(tmp_path, capsys):
    argv = _argv(tmp_path / "g.json", event="push", base="a" * 40, head="b" * 40)
    assert pull_group.main(argv, client=_client({})) == 1
    assert "answered 404" in capsys.readouterr().out


def test_a_group_file_that_is_not_one_is_refused(tmp_path):
    bad = tmp_path / "group.json"
    bad.write_text('{"pulls": 3}')
    with pytest.raises(DeployError, match="not a pull group"):
        pull_group.load_group(Path(bad))
