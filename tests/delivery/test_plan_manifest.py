"""What reviewers approve is what is applied: a saved plan is only used for its stack, image and
commit, and only unchanged; so is the plan as data that the destructive-change gate judges again
in the deploy job (destructive.json)."""

from __future__ import annotations

import pytest

from scripts.deploy.errors import DeployError
from scripts.deploy.plan_manifest import RECORDED, check, main, write
from tests.delivery.support import REPO_ROOT

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shipyard@sha256:" + "a" * 64
FIELDS = {"stack": "prod", "image": IMAGE, "commit": "1" * 40}


@pytest.fixture
def planned(tmp_path):
    (tmp_path / "plan.json").write_text('{"resourcePlans": {}}')
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


def test_a_plan_changed_after_approval_is_refused(planned):
    (planned / "plan.json").write_text('{"resourcePlans": {"urn": "changed"}}')
    with pytest.raises(DeployError, match="plan: plan made for"):
        check(planned, **FIELDS)


def test_a_gate_file_changed_after_approval_is_refused(planned):
    """The deploy job re-runs the destructive-change gate on destructive.json: one swapped for
    a harmless-looking file would let a replacement of the database through."""
    (planned / "destructive.json").write_text('{"stack": "prod", "changes": [], "x": 1}')
    with pytest.raises(DeployError, match="destructive: plan made for"):
        check(planned, **FIELDS)


@pytest.mark.parametrize("missing", ["plan.json", "destructive.json"])
def test_a_missing_file_is_refused_naming_the_command_that_makes_it(planned, missing):
    (planned / missing).unlink()
    with pytest.raises(DeployError, match=f"{missing} does not exist"):
        check(planned, **FIELDS)


def test_the_deploy_workflow_writes_the_gate_file_into_the_recorded_directory():
    """The manifest covers the files the deploy job reads: the workflow must put them where it
    records them (the plan directory) before it writes the manifest."""
    workflow = (REPO_ROOT / ".github" / "workflows" / "deploy-stack.yml").read_text()
    for name, _ in RECORDED.values():
        written = workflow.index(f'"$RUNNER_TEMP/plan/{name}"')
        assert written < workflow.index("plan_manifest write"), name


def test_the_command_line_fails_with_status_1_and_says_what_to_do(planned, capsys):
    args = ["--directory", str(planned), "--stack", "prod", "--image", IMAGE, "--commit", "3" * 40]
    assert main(["check", *args]) == 1
    assert "re-run the whole workflow" in capsys.readouterr().out
