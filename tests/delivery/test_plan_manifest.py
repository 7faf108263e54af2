"""What reviewers approve is what is applied: a saved plan is only used for its stack, image and
commit, and only unchanged."""

from __future__ import annotations

import pytest

from scripts.deploy.errors import DeployError
from scripts.deploy.plan_manifest import check, main, write

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shipyard@sha256:" + "a" * 64
FIELDS = {"stack": "prod", "image": IMAGE, "commit": "1" * 40}


@pytest.fixture
def planned(tmp_path):
    (tmp_path / "plan.json").write_text('{"resourcePlans": {}}')
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


def test_the_command_line_fails_with_status_1_and_says_what_to_do(planned, capsys):
    args = ["--directory", str(planned), "--stack", "prod", "--image", IMAGE, "--commit", "3" * 40]
    assert main(["check", *args]) == 1
    assert "re-run the whole workflow" in capsys.readouterr().out
