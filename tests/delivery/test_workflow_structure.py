"""What the pipeline promises, checked on the parsed workflows: triggers, job order, permissions,
concurrency, environments, pins. Each test reads like the rule it enforces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.delivery.support import REPO_ROOT, WORKFLOWS, load_workflow

ALL_WORKFLOWS = sorted(path.name for path in WORKFLOWS.glob("*.yml"))
ACTION_FILES = sorted((REPO_ROOT / ".github" / "actions").glob("*/action.yml"))
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>\s+#.*)?$")
SHA_PIN = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"^\s+# v\d+\.\d+\.\d+$")


def _jobs(name: str) -> dict[str, Any]:
    return load_workflow(name)["jobs"]


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def _all_steps() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name in ALL_WORKFLOWS:
        for job_id, job in _jobs(name).items():
            for step in _steps(job):
                yield name, job_id, step
    for path in ACTION_FILES:
        for step in yaml.safe_load(path.read_text())["runs"]["steps"]:
            yield str(path.relative_to(REPO_ROOT)), "(composite)", step


def _ancestors(jobs: dict[str, Any], job_id: str) -> set[str]:
    needs = jobs[job_id].get("needs", [])
    needs = [needs] if isinstance(needs, str) else needs
    found = set(needs)
    for parent in needs:
        found |= _ancestors(jobs, parent)
    return found


def _step_index(job: dict[str, Any], fragment: str) -> int:
    for index, step in enumerate(_steps(job)):
        if fragment in step.get("run", "") or fragment in step.get("uses", ""):
            return index
    raise AssertionError(f"no step runs or uses {fragment!r}")


# --- pins and hygiene, every workflow --------------------------------------------------------


def test_every_third_party_action_is_pinned_by_commit_sha_with_its_version_in_a_comment():
    files = [WORKFLOWS / name for name in ALL_WORKFLOWS] + ACTION_FILES
    pins: dict[str, set[str]] = {}
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = USES_LINE.match(line)
            if not match or match["ref"].startswith("$/"):
                continue
            where = f"{path.name}:{number}"
            pin = SHA_PIN.match(match["ref"])
            assert pin, f"{where}: {match['ref']} is not pinned by a 40-character commit SHA"
            assert VERSION_COMMENT.match(match["comment"] or ""), (
                f"{where}: add the version as a trailing comment, e.g. `# v1.2.3`"
            )
            pins.setdefault(pin["action"], set()).add(pin["sha"] + match["comment"].strip())
    inconsistent = {action: shas for action, shas in pins.items() if len(shas) > 1}
    assert inconsistent == {}, "one action, one pin everywhere"
    assert {
        "actions/checkout",
        "actions/setup-python",
        "pulumi/actions",
        "aws-actions/configure-aws-credentials",
        "aws-actions/amazon-ecr-login",
        "docker/setup-buildx-action",
        "docker/build-push-action",
    } <= set(pins)


def test_local_actions_and_reusable_workflows_use_the_self_repository_syntax():
    for name, job_id, step in _all_steps():
        uses = step.get("uses", "")
        assert not uses.startswith("./"), f"{name}/{job_id}: use $/… for {uses}"
    for name in ALL_WORKFLOWS:
        for job_id, job in _jobs(name).items():
            assert not job.get("uses", "").startswith("./"), f"{name}/{job_id}"


def test_every_checkout_drops_its_credentials():
    for name, job_id, step in _all_steps():
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{name}/{job_id}"


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_top_level_permissions_grant_nothing_and_every_job_declares_its_own(name):
    workflow = load_workflow(name)
    assert workflow["permissions"] == {}
    for job_id, job in workflow["jobs"].items():
        assert "permissions" in job, f"{name}/{job_id} must declare its permissions"
        assert job["permissions"].get("contents") == "read", f"{name}/{job_id}"


def _assumes_aws(job: dict[str, Any]) -> bool:
    if job.get("uses", "").endswith("deploy-stack.yml"):
        return True
    return any("configure-aws-credentials" in step.get("uses", "") for step in _steps(job))


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_id_token_write_only_where_aws_is_assumed(name):
    for job_id, job in _jobs(name).items():
        grants = job["permissions"].get("id-token") == "write"
        assert grants == _assumes_aws(job), (
            f"{name}/{job_id}: id-token: write iff it assumes a role"
        )
        extra = set(job["permissions"]) - {"contents", "id-token", "pull-requests"}
        assert extra == set(), f"{name}/{job_id} asks for {extra}"


def test_only_the_preview_job_may_write_pull_request_comments():
    writers = [
        (name, job_id)
        for name in ALL_WORKFLOWS
        for job_id, job in _jobs(name).items()
        if job["permissions"].get("pull-requests") == "write"
    ]
    assert writers == [("pull-request.yml", "preview")]


def test_run_scripts_never_interpolate_expressions():
    # `${{ … }}` inside a script is template injection; values go through `env:` instead.
    for name, job_id, step in _all_steps():
        assert "${{" not in step.get("run", ""), f"{name}/{job_id}/{step.get('name')}"


def test_secrets_are_passed_explicitly_never_inherited():
    for name in ALL_WORKFLOWS:
        for job_id, job in _jobs(name).items():
            assert job.get("secrets") != "inherit", f"{name}/{job_id}"


def test_scripts_named_in_workflows_exist():
    modules = set()
    for _, _, step in _all_steps():
        modules |= set(re.findall(r"-m (scripts\.deploy\.\w+)", step.get("run", "")))
    assert len(modules) >= 9
    for module in modules:
        assert (REPO_ROOT / Path(*module.split("."))).with_suffix(".py").is_file(), module


# --- versions, pinned in one place ---------------------------------------------------------


def _versions() -> dict[str, str]:
    text = (REPO_ROOT / ".github" / "versions.env").read_text()
    return dict(re.findall(r"^([A-Z_]+)=(\S+)$", text, flags=re.MULTILINE))


def test_python_and_pulumi_versions_are_pinned_once_and_agree_with_the_rest_of_the_repository():
    versions = _versions()
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    base = re.search(r"python:(\d+\.\d+\.\d+)-slim", dockerfile)
    assert base, "the Dockerfile names its Python version in the base image tag"
    assert base[1] == versions["PYTHON_VERSION"], "Dockerfile base and CI run one Python"
    sdk = re.search(
        r"^pulumi==(\S+)", (REPO_ROOT / "requirements/dev.txt").read_text(), re.MULTILINE
    )
    assert sdk, "requirements/dev.txt pins the pulumi SDK"
    assert sdk[1] == versions["PULUMI_VERSION"], "Pulumi CLI and SDK are released together"
    for name, job_id, step in _all_steps():
        with_ = step.get("with", {})
        for key in ("python-version", "pulumi-version"):
            if key in with_:
                assert "steps.versions.outputs" in with_[key], f"{name}/{job_id}: {key} hard-coded"


# --- pull requests --------------------------------------------------------------------------


def test_pull_requests_and_the_merge_queue_run_checks_then_previews_of_both_stacks():
    workflow = load_workflow("pull-request.yml")
    assert set(workflow["on"]) == {"pull_request", "merge_group"}
    jobs = workflow["jobs"]
    assert jobs["checks"]["uses"] == "$/.github/workflows/checks.yml"
    preview = jobs["preview"]
    assert set(preview["needs"]) == {"checks", "gate"}
    assert preview["if"] == "needs.gate.outputs.run == 'true'"  # a skip, not a failure
    assert preview["strategy"]["matrix"]["stack"] == ["staging", "prod"]
    assert preview["strategy"]["fail-fast"] is False
    assert workflow["concurrency"]["cancel-in-progress"] is True


def test_checks_run_lint_types_and_make_test_against_postgresql():
    jobs = load_workflow("checks.yml")["jobs"]
    assert any(step.get("run") == "make lint" for step in _steps(jobs["lint"]))
    test = jobs["test"]
    assert any(step.get("run") == "make test" for step in _steps(test))
    assert test["env"]["TEST_POSTGRES_URL"] == (
        "postgresql+psycopg://postgres:postgres@localhost:5432/test"
    )
    postgres = test["services"]["postgres"]
    assert re.fullmatch(r"postgres:[\w.-]+@sha256:[0-9a-f]{64}", postgres["image"])
    assert postgres["env"]["POSTGRES_DB"] == "test"


def test_preview_uses_the_policy_pack_and_comments_even_when_it_fails():
    preview = _jobs("pull-request.yml")["preview"]
    run = _steps(preview)[_step_index(preview, "pulumi preview")]["run"]
    for flag in ("--diff", "--policy-pack policy", '--stack "$STACK"', "--non-interactive"):
        assert flag in run
    render = _steps(preview)[_step_index(preview, "render_preview_comment")]
    post = _steps(preview)[_step_index(preview, "upsert_pr_comment")]
    assert "!cancelled()" in render["if"]
    assert "!cancelled()" in post["if"]
    assert "github.event_name == 'pull_request'" in post["if"]  # the merge queue has no PR
    assert render["env"]["OUTCOME"] == "${{ steps.preview.outcome }}"
    assert _step_index(preview, "configure-aws-credentials") < _step_index(
        preview, "pulumi preview"
    )


def test_preview_assumes_the_read_only_role():
    for name, job_id in [
        ("pull-request.yml", "preview"),
        ("drift.yml", "drift"),
        ("rollback.yml", "resolve"),
    ]:
        job = _jobs(name)[job_id]
        step = _steps(job)[_step_index(job, "configure-aws-credentials")]
        assert step["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}", (
            f"{name}/{job_id}"
        )


# --- merge to main --------------------------------------------------------------------------


def test_main_ships_checks_then_one_image_then_staging_then_production():
    workflow = load_workflow("deploy.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    jobs = workflow["jobs"]
    assert _ancestors(jobs, "image") == {"checks"}
    assert _ancestors(jobs, "staging") == {"checks", "image"}
    assert _ancestors(jobs, "production") == {"checks", "image", "staging"}
    for job_id, stack, environment in [
        ("staging", "staging", "staging"),
        ("production", "prod", "production"),
    ]:
        job = jobs[job_id]
        assert job["uses"] == "$/.github/workflows/deploy-stack.yml"
        assert job["with"]["stack"] == stack
        assert job["with"]["environment"] == environment
        # The same digest, built once, goes to both stacks.
        assert job["with"]["image_ref"] == "${{ needs.image.outputs.image_ref }}"
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_the_image_is_pushed_once_and_addressed_by_digest():
    image = _jobs("deploy.yml")["image"]
    build = [s for s in _steps(image) if "docker/build-push-action" in s.get("uses", "")]
    assert len(build) == 1
    assert build[0]["with"]["push"] is True
    assert build[0]["with"]["context"] == "."
    compose = _steps(image)[_step_index(image, "image_ref compose")]
    assert compose["env"]["DIGEST"] == "${{ steps.build.outputs.digest }}"
    assert image["outputs"]["image_ref"] == "${{ steps.ref.outputs.image_ref }}"


def test_a_stack_deploy_migrates_then_rolls_out_then_verifies_then_smoke_tests():
    workflow = load_workflow("deploy-stack.yml")
    job = workflow["jobs"]["deploy"]
    order = [
        _step_index(job, "pulumi config set"),
        _step_index(job, "pulumi stack export"),
        _step_index(job, "--target"),
        _step_index(job, "scripts.deploy.run_migration"),
        _step_index(job, "--policy-pack policy"),  # the full `pulumi up`
        _step_index(job, "scripts.deploy.verify_rollout"),
        _step_index(job, "scripts.deploy.smoke"),
    ]
    assert order == sorted(order)
    up = _steps(job)[_step_index(job, "--policy-pack policy")]["run"]
    assert "pulumi up" in up
    assert "--yes" in up
    assert "shipyard:image_ref" in _steps(job)[_step_index(job, "pulumi config set")]["run"]
    assert "--image" in _steps(job)[_step_index(job, "scripts.deploy.verify_rollout")]["run"]


def test_stack_deploys_are_serialised_per_stack_and_never_cancelled():
    job = load_workflow("deploy-stack.yml")["jobs"]["deploy"]
    assert job["concurrency"] == {
        "group": "deploy-${{ inputs.stack }}",
        "cancel-in-progress": False,
    }
    assert job["environment"]["name"] == "${{ inputs.environment }}"
    step = _steps(job)[_step_index(job, "configure-aws-credentials")]
    assert step["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"


def test_migrations_can_be_switched_off_and_default_to_on():
    workflow = load_workflow("deploy-stack.yml")
    assert workflow["on"]["workflow_call"]["inputs"]["run_migrations"]["default"] is True
    job = workflow["jobs"]["deploy"]
    for fragment in ("pulumi stack export", "--target", "scripts.deploy.run_migration"):
        assert "inputs.run_migrations" in _steps(job)[_step_index(job, fragment)]["if"]


# --- rollback and drift ---------------------------------------------------------------------


def test_rollback_is_one_dispatch_that_redeploys_the_previous_image_without_migrating():
    workflow = load_workflow("rollback.yml")
    stack = workflow["on"]["workflow_dispatch"]["inputs"]["stack"]
    assert stack["type"] == "choice"
    assert stack["options"] == ["staging", "prod"]
    jobs = workflow["jobs"]
    assert (
        "scripts.deploy.previous_image"
        in _steps(jobs["resolve"])[_step_index(jobs["resolve"], "previous_image")]["run"]
    )
    rollback = jobs["rollback"]
    assert rollback["needs"] == "resolve"
    assert rollback["uses"] == "$/.github/workflows/deploy-stack.yml"
    assert rollback["with"]["image_ref"] == "${{ needs.resolve.outputs.image_ref }}"
    assert rollback["with"]["run_migrations"] is False
    assert "'production'" in rollback["with"]["environment"]  # prod is still behind its reviewers
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_drift_is_checked_daily_for_each_stack_and_fails_visibly():
    workflow = load_workflow("drift.yml")
    assert workflow["on"]["schedule"][0]["cron"]
    assert "workflow_dispatch" in workflow["on"]
    job = workflow["jobs"]["drift"]
    assert job["strategy"]["matrix"]["stack"] == ["staging", "prod"]
    assert job["strategy"]["fail-fast"] is False
    run = _steps(job)[_step_index(job, "pulumi preview")]["run"]
    assert "--refresh" in run
    assert "--expect-no-changes" in run
    report = _steps(job)[_step_index(job, "render_preview_comment")]
    assert "failure()" in report["if"]
    assert "::error" in report["run"]


def test_dependabot_watches_pip_actions_and_the_base_image():
    config = yaml.safe_load((REPO_ROOT / ".github" / "dependabot.yml").read_text())
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert updates["pip"]["directory"] == "/requirements"
    assert "/" in updates["github-actions"]["directories"]
    assert "/.github/actions/setup" in updates["github-actions"]["directories"]
    assert updates["docker"]["directory"] == "/"


@pytest.mark.parametrize(
    ("name", "job_id"), [("pull-request.yml", "preview"), ("drift.yml", "drift")]
)
def test_previews_keep_the_deployed_image_so_they_show_infrastructure_changes_only(name, job_id):
    # Without this, every preview and every drift check would report the image as changed.
    job = _jobs(name)[job_id]
    keep = _step_index(job, "pulumi stack output image_ref")
    assert "shipyard:image_ref" in _steps(job)[keep]["run"]
    assert keep < _step_index(job, "pulumi preview")
