"""The destructive-change gate and the comment's first block, on recorded previews."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.deploy import destructive_gate, render_preview_comment
from scripts.deploy.destructive_gate import (
    Approval,
    approval_record,
    check_approver,
    judge,
    labels_of_merged_pull,
    merged_pull_for_commit,
    parse_labels,
    render_block,
    stateful_types,
)
from scripts.deploy.errors import DeployError
from scripts.deploy.plan_json import load_plan, parse_plan
from scripts.deploy.render_preview_comment import preview_marker, render_comment
from tests.delivery.support import DATA, recorded

PLANS = DATA / "plans"
MERGED_SHA = "3f1c9a7e5b2d4c6a8e0f1a2b3c4d5e6f7a8b9c0d"
PREVIEW_TEXT = recorded("preview_no_changes.txt")

# (plan file, stack, the stateful resources it replaces or deletes)
SCENARIOS = [
    ("prod-no-change.json", "prod", []),
    ("prod-update-in-place.json", "prod", []),
    ("prod-replace-database.json", "prod", [("replace", "database-postgres")]),
    ("prod-replace-database.events.jsonl", "prod", [("replace", "database-postgres")]),
    (
        "prod-delete-queue.json",
        "prod",
        [
            ("delete", "messaging-order-notifications"),
            ("delete", "messaging-order-notifications-dlq"),
        ],
    ),
    ("staging-replace-bucket.json", "staging", [("replace", "edge-web")]),
    ("staging-no-change.json", "staging", []),
]


@pytest.mark.parametrize(("name", "stack", "destroyed"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
@pytest.mark.parametrize("labelled", [False, True], ids=["no-label", "label"])
def test_the_gate_refuses_exactly_the_unapproved_destructive_plans(
    name: str, stack: str, destroyed: list[tuple[str, str]], labelled: bool
) -> None:
    labels = {"infrastructure", f"allow-destructive:{stack}"} if labelled else {"infrastructure"}
    verdict = judge(load_plan(PLANS / name), stack=stack, labels=labels)
    assert [(c.action, c.name) for c in verdict.destructive] == destroyed
    assert verdict.allowed is (labelled or not destroyed), verdict.message
    if destroyed and not labelled:
        for action, resource in destroyed:
            assert f"{action} " in verdict.message
            assert resource in verdict.message
        assert f"`allow-destructive:{stack}`" in verdict.message


def test_the_failure_names_the_type_the_resource_the_reason_and_the_label() -> None:
    verdict = judge(load_plan(PLANS / "prod-replace-database.json"), stack="prod", labels=[])
    assert not verdict.allowed
    assert (
        "replace aws:rds/instance:Instance database-postgres (forced by identifier)"
        in verdict.message
    )
    assert "add the label `allow-destructive:prod` to the pull request" in verdict.message
    # the task definition is replaced too, but it is stateless: not named
    assert "task-definitions-api" not in verdict.message


def test_a_label_for_another_stack_does_not_approve() -> None:
    plan = load_plan(PLANS / "prod-replace-database.json")
    assert not judge(plan, stack="prod", labels=["allow-destructive:staging"]).allowed
    assert not judge(plan, stack="prod", labels=["allow-destructive"]).allowed


def test_a_replace_in_staging_only_leaves_prod_free() -> None:
    staging = load_plan(PLANS / "staging-replace-bucket.json")
    prod = load_plan(PLANS / "prod-no-change.json")
    assert not judge(staging, stack="staging", labels=[]).allowed
    assert not judge(staging, stack="staging", labels=["allow-destructive:prod"]).allowed
    assert judge(prod, stack="prod", labels=[]).allowed
    with pytest.raises(DeployError, match="plan is for stack 'staging'"):
        judge(staging, stack="prod", labels=[])


def test_the_declared_list_decides_what_is_destructive() -> None:
    # Control: with the bucket's type off the list, staging's bucket replace would pass unnoticed.
    plan = load_plan(PLANS / "staging-replace-bucket.json")
    without_s3 = {k: v for k, v in stateful_types().items() if k != "aws:s3/bucket:Bucket"}
    assert judge(plan, stack="staging", labels=[], stateful=without_s3).allowed
    assert not judge(plan, stack="staging", labels=[]).allowed
    # (prod's protect would still stop its database: Pulumi's refusal is an error of its own)
    database = load_plan(PLANS / "prod-replace-database.json")
    without_rds = {k: v for k, v in stateful_types().items() if k != "aws:rds/instance:Instance"}
    assert not judge(database, stack="prod", labels=[], stateful=without_rds).allowed


def test_a_preview_error_other_than_protection_fails_closed_even_with_the_label() -> None:
    document = json.loads((PLANS / "prod-update-in-place.json").read_text())
    document["diagnostics"] = [
        {"urn": "", "message": "error: creating ECS Service: AccessDenied\n", "severity": "error"}
    ]
    verdict = judge(
        parse_plan(json.dumps(document)), stack="prod", labels=["allow-destructive:prod"]
    )
    assert not verdict.allowed
    assert "reported 1 error(s)" in verdict.message


def test_protection_refusals_are_the_expected_echo_of_an_approved_change() -> None:
    plan = load_plan(PLANS / "prod-delete-queue.json")
    assert len(plan.errors) == 2
    assert all(e.is_protection_refusal for e in plan.errors)
    assert judge(plan, stack="prod", labels=["allow-destructive:prod"]).allowed


def test_an_unfinished_preview_cannot_pass() -> None:
    lines = (PLANS / "prod-replace-database.events.jsonl").read_text().splitlines()
    cut = "\n".join(line for line in lines[:2])  # prelude and the stack's step, then nothing
    verdict = judge(parse_plan(cut), stack="prod", labels=["allow-destructive:prod"])
    assert not verdict.allowed
    assert "stopped before its end" in verdict.message


# --- labels ---------------------------------------------------------------------------------------


def test_labels_arrive_as_json_or_as_a_list() -> None:
    assert parse_labels('["allow-destructive:prod", "infrastructure"]') == {
        "allow-destructive:prod",
        "infrastructure",
    }
    assert parse_labels("a, allow-destructive:prod\nb,") == {"a", "allow-destructive:prod", "b"}
    assert parse_labels("") == frozenset()
    assert parse_labels("[]") == frozenset()


def test_the_deploy_reads_the_labels_of_the_pull_request_merged_as_the_commit() -> None:
    pulls = recorded("github/commit_pulls_merged.json")  # GET /repos/O/R/commits/SHA/pulls
    pull = merged_pull_for_commit(pulls, MERGED_SHA)
    assert pull is not None
    assert pull["number"] == 118
    labels, origin = labels_of_merged_pull(pulls, MERGED_SHA)
    assert labels == {"allow-destructive:prod", "infrastructure"}
    assert origin == "pull request #118 (merged as 3f1c9a7e5b2d)"
    # the open pull request #121 also contains the commit; its label must not count
    assert "allow-destructive:staging" not in labels


def test_a_commit_no_pull_request_produced_has_no_approval() -> None:
    pulls = recorded("github/commit_pulls_merged.json")
    assert labels_of_merged_pull(pulls, "0" * 40) == (
        frozenset(),
        "no merged pull request produced commit 000000000000",
    )
    assert labels_of_merged_pull([], MERGED_SHA)[0] == frozenset()
    with pytest.raises(DeployError, match="JSON list"):
        merged_pull_for_commit({"message": "Not Found"}, MERGED_SHA)


# --- the command ------------------------------------------------------------------------------


def test_the_command_fails_with_the_label_to_add(
    github_files: Callable[[], dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = str(PLANS / "prod-replace-database.json")
    assert destructive_gate.main(["--stack", "prod", "--plan", plan, "--labels", "[]"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("::error::prod: this change would replace aws:rds/instance:Instance")
    assert "allow-destructive:prod" in out
    files = github_files()
    assert "destructive=true" in files["output"]
    assert "approved=false" in files["output"]
    assert "Destructive changes · `prod`" in files["summary"]


def test_the_deploy_passes_with_the_merged_pull_requests_label_and_lists_what_to_unprotect(
    github_files: Callable[[], dict[str, str]],
) -> None:
    plan = str(PLANS / "prod-delete-queue.json")
    pulls = str(DATA / "github" / "commit_pulls_merged.json")
    argv = ["--stack", "prod", "--plan", plan, "--commit-pulls", pulls, "--commit", MERGED_SHA]
    assert destructive_gate.main(argv) == 0
    output = github_files()["output"]
    assert "approved=true" in output
    urns_block = output.split("urns<<", 1)[1]
    assert "Queue::messaging-order-notifications\n" in urns_block
    assert "Queue::messaging-order-notifications-dlq\n" in urns_block
    assert "TopicSubscription" not in urns_block  # only the stateful ones need unprotecting
    assert "Labels read from pull request #118" in github_files()["summary"]


def test_the_deploy_of_a_commit_without_an_approved_pull_request_is_refused(
    github_files: Callable[[], dict[str, str]],
) -> None:
    plan = str(PLANS / "prod-delete-queue.json")
    pulls = str(DATA / "github" / "commit_pulls_merged.json")
    argv = ["--stack", "prod", "--plan", plan, "--commit-pulls", pulls, "--commit", "1" * 40]
    assert destructive_gate.main(argv) == 1


def test_commit_pulls_need_the_commit(capsys: pytest.CaptureFixture[str]) -> None:
    plan = str(PLANS / "prod-no-change.json")
    pulls = str(DATA / "github" / "commit_pulls_merged.json")
    assert destructive_gate.main(["--stack", "prod", "--plan", plan, "--commit-pulls", pulls]) == 1
    assert "--commit-pulls needs --commit" in capsys.readouterr().out


# --- the comment opens with the danger ------------------------------------------------------------


def test_the_comment_opens_with_the_destructive_block_above_the_summary() -> None:
    block = render_block(load_plan(PLANS / "prod-replace-database.json"), stack="prod")
    body = render_comment(
        stack="prod", preview_text=PREVIEW_TEXT, outcome="failure", destructive_block=block
    )
    lines = body.splitlines()
    assert lines[0] == preview_marker("prod")  # upsert_pr_comment still finds the comment
    assert lines[1] == (
        "### ⛔ Destructive changes · `prod`: 1 stateful resource replaced or deleted"
    )
    assert body.index("Destructive changes") < body.index("Pulumi preview ·")
    assert body.index("Destructive changes") < body.index("**Resources:**")
    assert (
        "| **replace** | `aws:rds/instance:Instance` | `database-postgres` | `identifier` |" in body
    )
    assert "without the label `allow-destructive:prod`" in body


def test_the_block_lists_every_deleted_queue_and_says_when_approved() -> None:
    plan = load_plan(PLANS / "prod-delete-queue.json")
    block = render_block(plan, stack="prod", labels=["allow-destructive:prod"])
    assert "2 stateful resources replaced or deleted" in block
    assert "| **delete** | `aws:sqs/queue:Queue` | `messaging-order-notifications` | — |" in block
    assert "`messaging-order-notifications-dlq`" in block
    assert "✅ Approved with the label `allow-destructive:prod`" in block
    assert "messaging-order-events-to-order-notifications" not in block


@pytest.mark.parametrize(
    ("name", "stack"),
    [
        ("prod-no-change.json", "prod"),
        ("prod-update-in-place.json", "prod"),
        ("staging-no-change.json", "staging"),
    ],
)
def test_nothing_changes_for_a_plan_without_destruction(
    name: str, stack: str, tmp_path: Path
) -> None:
    preview = tmp_path / "preview.txt"
    preview.write_text(PREVIEW_TEXT)
    plain, with_plan = tmp_path / "plain.md", tmp_path / "with-plan.md"
    common = ["--stack", stack, "--preview-file", str(preview), "--commit", "abc123"]
    assert render_preview_comment.main([*common, "--output", str(plain)]) == 0
    assert (
        render_preview_comment.main(
            [*common, "--output", str(with_plan), "--plan", str(PLANS / name), "--labels", "[]"]
        )
        == 0
    )
    assert with_plan.read_text() == plain.read_text()


def test_the_renderer_command_puts_the_block_first(tmp_path: Path) -> None:
    preview = tmp_path / "preview.txt"
    preview.write_text(PREVIEW_TEXT)
    output = tmp_path / "comment.md"
    argv = ["--stack", "staging", "--preview-file", str(preview), "--output", str(output)]
    plan = str(PLANS / "staging-replace-bucket.json")
    assert render_preview_comment.main([*argv, "--plan", plan]) == 0
    second_line = output.read_text().splitlines()[1]
    assert second_line.startswith("### ⛔ Destructive changes · `staging`")
    # a plan the preview never wrote: the comment says the check could not run, first
    assert render_preview_comment.main([*argv, "--plan", str(tmp_path / "absent.json")]) == 0
    assert "could not be checked" in output.read_text().splitlines()[1]
    # an unreadable plan still leaves a comment, saying why
    broken = tmp_path / "broken.json"
    broken.write_text('{"steps": [{"op": "obliterate", "urn": "urn:pulumi:staging::p::t::n"}]}')
    assert render_preview_comment.main([*argv, "--plan", str(broken)]) == 0
    assert "could not be checked" in output.read_text().splitlines()[1]
    assert "unknown Pulumi step operation 'obliterate'" in output.read_text()


# --- the approval record --------------------------------------------------------------------


def test_the_approval_record_is_the_last_standing_labeled_event() -> None:
    events = recorded("github/issue_events_118.json")  # GET /repos/O/R/issues/118/events
    # added by the author, removed by a reviewer, added again by the reviewer: the reviewer's
    assert approval_record(events, "allow-destructive:prod") == Approval(
        "ops-lead", "2026-11-28T08:58:31Z"
    )
    assert approval_record([events[:3], events[3:]], "allow-destructive:prod") == Approval(
        "ops-lead", "2026-11-28T08:58:31Z"
    )  # `gh api --paginate --slurp` pages
    # control: cut the timeline before the second addition and nothing stands
    assert approval_record(events[:3], "allow-destructive:prod") is None
    assert approval_record(events, "allow-destructive:staging") is None


def test_an_approval_by_the_author_is_refused() -> None:
    events = recorded("github/issue_events_118.json")
    standing = approval_record(events, "allow-destructive:prod")
    assert check_approver(standing, label="allow-destructive:prod", author="dev-one") == (
        "approved by @ops-lead at 2026-11-28T08:58:31Z (label `allow-destructive:prod`)"
    )
    by_author = approval_record(events[:2], "allow-destructive:prod")
    with pytest.raises(DeployError, match="added by @dev-one, the pull request's author"):
        check_approver(by_author, label="allow-destructive:prod", author="dev-one")
    with pytest.raises(DeployError, match="no standing `allow-destructive:prod` label event"):
        check_approver(None, label="allow-destructive:prod", author="dev-one")


def test_the_command_records_who_approved(
    github_files: Callable[[], dict[str, str]], tmp_path: Path
) -> None:
    plan = str(PLANS / "prod-replace-database.json")
    events = DATA / "github" / "issue_events_118.json"
    argv = ["--stack", "prod", "--plan", plan, "--labels", '["allow-destructive:prod"]']
    assert destructive_gate.main([*argv, "--label-events", str(events), "--author", "dev-one"]) == 0
    files = github_files()
    assert "approved_by=approved by @ops-lead at 2026-11-28T08:58:31Z" in files["output"]
    assert "Destructive changes in `prod` approved by @ops-lead" in files["summary"]
    self_approved = tmp_path / "events.json"
    self_approved.write_text(json.dumps(recorded("github/issue_events_118.json")[:2]))
    assert (
        destructive_gate.main([*argv, "--label-events", str(self_approved), "--author", "dev-one"])
        == 1
    )
