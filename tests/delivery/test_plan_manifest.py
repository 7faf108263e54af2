"""What reviewers approve is what is applied: the approved preview is only used for its stack,
image and commit, and only unchanged; the plan the deploy job makes must have exactly its steps;
and the artifact that carries the approval across jobs holds no value of the plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from scripts.deploy import plan_json, state_identity
from scripts.deploy.errors import DeployError
from scripts.deploy.plan_json import load_plan
from scripts.deploy.plan_manifest import RECORDED, check, main, match, write
from tests.delivery.support import DATA, REPO_ROOT

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shipyard@sha256:" + "a" * 64
FIELDS = {"stack": "prod", "image": IMAGE, "commit": "1" * 40}


@pytest.fixture
def planned(tmp_path):
    (tmp_path / "state.json").write_text('{"digest": "sha256:0", "saved_at": "t", "resources": 0}')
    (tmp_path / "destructive.json").write_text('{"stack": "prod", "changes": []}')
    write(tmp_path, **FIELDS)
    return tmp_path


def test_the_plan_made_for_this_deploy_passes(planned):
    check(planned, **FIELDS)


@pytest.mark.parametrize(
    ("field", "other"),
    [("stack", "staging"), ("image", IMAGE.replace("a" * 64, "b" * 64)), ("commit", "2" * 40)],
)
def test_a_plan_for_another_stack_image_or_commit_is_refused(planned, field, other):
    with pytest.raises(DeployError, match=f"{field}: plan made for"):
        check(planned, **{**FIELDS, field: other})


def test_a_state_record_changed_after_approval_is_refused(planned):
    (planned / "state.json").write_text('{"digest": "sha256:1", "saved_at": "t", "resources": 0}')
    with pytest.raises(DeployError, match="state: plan made for"):
        check(planned, **FIELDS)


def test_a_gate_file_changed_after_approval_is_refused(planned):
    """The deploy job re-runs the destructive-change gate on destructive.json: one swapped for
    a harmless-looking file would let a replacement of the database through."""
    (planned / "destructive.json").write_text('{"stack": "prod", "changes": [], "x": 1}')
    with pytest.raises(DeployError, match="destructive: plan made for"):
        check(planned, **FIELDS)


@pytest.mark.parametrize("missing", ["state.json", "destructive.json"])
def test_a_missing_file_is_refused_naming_the_command_that_makes_it(planned, missing):
    (planned / missing).unlink()
    with pytest.raises(DeployError, match=f"{missing} does not exist"):
        check(planned, **FIELDS)


def test_the_deploy_workflow_writes_the_gate_file_into_the_recorded_directory():
    """The manifest covers the files the deploy job reads: the workflow must put them where it
    records them (the plan directory) before it writes the manifest."""
    workflow = (REPO_ROOT / ".github" / "workflows" / "deploy-stack.yml").read_text()
    for name, _ in RECORDED.values():
        written = workflow.index(f'"$RUNNER_TEMP/approved/{name}"')
        assert written < workflow.index("plan_manifest write"), name


def test_the_command_line_fails_with_status_1_and_says_what_to_do(planned, capsys):
    args = ["--directory", str(planned), "--stack", "prod", "--image", IMAGE, "--commit", "3" * 40]
    assert main(["check", *args]) == 1
    assert "re-run the whole workflow" in capsys.readouterr().out


# --- the plan to apply has exactly the approved steps ---------------------------------------------


def test_a_plan_with_the_approved_steps_matches():
    approved = load_plan(DATA / "plans" / "prod-update-in-place.json")
    assert "reviewers were shown" in match(approved, approved)


def test_the_same_steps_in_another_order_match():
    approved = load_plan(DATA / "plans" / "prod-update-in-place.json")
    assert len(approved.changes) > 1
    reordered = replace(approved, changes=tuple(reversed(approved.changes)))
    assert "reviewers were shown" in match(approved, reordered)


def test_a_plan_with_another_step_is_refused_before_anything_changes():
    approved = load_plan(DATA / "plans" / "prod-no-change.json")
    made = load_plan(DATA / "plans" / "prod-delete-queue.json")
    with pytest.raises(DeployError) as refused:
        match(approved, made)
    message = str(refused.value)
    assert "not shown to the reviewers" in message
    assert "Nothing was changed" in message
    assert "Re-plan" in message


# --- what the artifact holds -------------------------------------------------------------------


def _string_values(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _string_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _string_values(item)
    elif isinstance(value, str):
        yield value


def test_the_artifact_bytes_hold_no_value_of_the_plan(tmp_path):
    """Issue 22, item 5: the raw preview carries every resource's inputs and outputs; the files
    the plan job uploads (steps as data, the state's identity, the manifest) carry none."""
    events = DATA / "plans" / "prod-replace-database.events.jsonl"
    values = set()
    for line in events.read_text().splitlines():
        metadata = (json.loads(line).get("resourcePreEvent") or {}).get("metadata") or {}
        for side in ("old", "new"):
            state = metadata.get(side) or {}
            for key in ("inputs", "outputs"):
                values |= {v for v in _string_values(state.get(key)) if len(v) >= 6}
    assert len(values) >= 5, "the recorded preview must carry values for this test to mean much"
    approved = tmp_path / "approved"
    approved.mkdir()
    assert (
        plan_json.main(
            [
                "--stack",
                "prod",
                "--input",
                str(events),
                "--output",
                str(approved / "destructive.json"),
            ]
        )
        == 0
    )
    state = DATA / "state" / "prod-export-before.json"
    assert (
        state_identity.main(
            ["record", "--state", str(state), "--output", str(approved / "state.json")]
        )
        == 0
    )
    write(approved, **FIELDS)
    artifact = b"".join(path.read_bytes() for path in sorted(approved.iterdir()))
    # Names in URNs (the project, a logical name) are identifiers the steps must carry.
    urns = " ".join(change.urn for change in load_plan(approved / "destructive.json").changes)
    leaked = sorted(v for v in values if v.encode() in artifact and v not in urns)
    assert leaked == [], "plan values in the uploaded artifact"
    assert "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1a2b3c-AbCdEf" in values
    # Control: a saved plan (`--save-plan`, uploaded before issue 22) is the raw preview's data.
    raw = events.read_bytes()
    assert all(v.encode() in raw for v in values)
