"""What the pipeline promises, checked on the parsed workflows: triggers, job order, permissions,
concurrency, environments, pins. Each test reads like the rule it enforces."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.deploy.errors import DeployError
from scripts.deploy.stacks import matrices, read_stacks
from scripts.deploy.summarise_previews import verdict
from scripts.github_setup.wiring import REQUIRED_CHECKS
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


_FROM_STACKS = re.compile(r"^\$\{\{ fromJSON\(needs\.stacks\.outputs\.(?P<output>\w+)\) \}\}$")


def _rows(job: dict[str, Any], *, root: Path = REPO_ROOT, stack: str | None = None) -> list[Any]:
    """The rows a job's matrix takes: its `include`, or the reader's output it names
    (scripts/deploy/stacks.py; `selected` without a dispatched stack: every stack it accepts)."""
    include = ((job.get("strategy") or {}).get("matrix") or {}).get("include") or []
    if not isinstance(include, str):
        return list(include)
    match = _FROM_STACKS.match(include)
    assert match, f"a matrix the tests cannot read: {include}"
    if match["output"] == "selected" and stack is None:
        return [r for s in read_stacks(root) for r in _rows(job, root=root, stack=s.stack)]
    return list(yaml.safe_load(matrices(root, stack=stack)[match["output"]]))


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


CALLED_WITH_AWS = ("deploy-stack.yml", "preview-stack.yml")


def _assumes_aws(job: dict[str, Any]) -> bool:
    if job.get("uses", "").endswith(CALLED_WITH_AWS):
        return True
    return any("configure-aws-credentials" in step.get("uses", "") for step in _steps(job))


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_id_token_write_only_where_aws_is_assumed(name):
    for job_id, job in _jobs(name).items():
        grants = job["permissions"].get("id-token") == "write"
        assert grants == _assumes_aws(job), (
            f"{name}/{job_id}: id-token: write iff it assumes a role"
        )
        extra = set(job["permissions"]) - {"contents", "id-token", "pull-requests", "issues"}
        assert extra == set(), f"{name}/{job_id} asks for {extra}"


def test_only_the_preview_jobs_may_write_pull_request_comments():
    writers = [
        (name, job_id)
        for name in ALL_WORKFLOWS
        for job_id, job in _jobs(name).items()
        if job["permissions"].get("pull-requests") == "write"
    ]
    assert writers == [
        ("preview-stack.yml", "preview"),
        ("pull-request.yml", "preview"),
        ("pull-request.yml", "queue-preview"),
    ]
    # The called job posts only on pull requests (the merge queue has no PR to comment on).
    preview = _jobs("preview-stack.yml")["preview"]
    assert "github.event_name == 'pull_request'" in _step(preview, "upsert_pr_comment")["if"]


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


def test_pull_requests_preview_staging_and_the_merge_queue_previews_every_stack():
    workflow = load_workflow("pull-request.yml")
    assert set(workflow["on"]) == {"pull_request", "merge_group"}
    jobs = workflow["jobs"]
    assert jobs["checks"]["uses"] == "$/.github/workflows/checks.yml"
    pull, queue = jobs["preview"], jobs["queue-preview"]
    for job, event in ((pull, "pull_request"), (queue, "merge_group")):
        assert job["uses"] == "$/.github/workflows/preview-stack.yml"
        assert set(job["needs"]) == {"stacks", "checks", "gate"}
        # a skip, not a failure; and only for its own event
        assert job["if"].startswith(
            f"github.event_name == '{event}' && needs.gate.outputs.run == 'true'"
        )
        assert job["strategy"]["fail-fast"] is False
        assert job["with"]["region"] == "${{ matrix.region }}"
    # Contract C2: unreviewed code (a pull request runs its branch's workflow file) previews
    # staging only, with the preview role; reviewed code in the queue every stack, plan role.
    assert [row["stack"] for row in _rows(pull)] == ["staging"]
    assert pull["with"]["role_arn"].startswith(
        "${{ vars[format('AWS_PREVIEW_ROLE_ARN_{0}', matrix.key)] }}"
    )
    assert [row["stack"] for row in _rows(queue)] == ["staging", "prod"]
    assert queue["with"]["role_arn"].startswith(
        "${{ vars[format('AWS_PLAN_ROLE_ARN_{0}', matrix.key)] }}"
    )
    assert "PREVIEW_ROLE_ARN_PROD" not in (WORKFLOWS / "pull-request.yml").read_text()
    assert workflow["concurrency"]["cancel-in-progress"] is True
    # The aggregate the ruleset requires: runs unless cancelled, never a matrix, needs every
    # preview job (issue 21, item 7: `!cancelled()`, not `always()`).
    previews = jobs["previews"]
    assert previews["name"] == "previews"
    assert previews["if"] == "${{ !cancelled() }}"
    assert "strategy" not in previews
    assert set(previews["needs"]) == {"stacks", "checks", "gate", "preview", "queue-preview"}
    assert "summarise_previews" in _steps(previews)[_step_index(previews, "summarise")]["run"]


def _expand_matrix(title: str, row: dict[str, str]) -> str:
    """A job title with each `${{ matrix.KEY }}` replaced by the row's value, as GitHub names it."""
    return re.sub(r"\$\{\{ matrix\.(\w+) \}\}", lambda m: row[m[1]], title)


def _check_names(name: str) -> set[str]:
    """The check runs a workflow reports (GitHub's naming: "caller / called", matrix expanded;
    a matrix job that can be skipped by its `if` reports its unexpanded name instead)."""
    names: set[str] = set()
    for job_id, job in _jobs(name).items():
        title = job.get("name", job_id)
        include = (job.get("strategy") or {}).get("matrix", {}).get("include")
        if include and job.get("if") not in (None, "${{ always() }}", "${{ !cancelled() }}"):
            titles = {title}  # skipped: `preview (${{ matrix.stack }})`, never expanded
        elif include:
            titles = {_expand_matrix(title, row) for row in include}
        else:
            titles = {title}
        if "uses" in job:
            called = _check_names(job["uses"].rsplit("/", 1)[-1])
            titles = {f"{t} / {n}" for t in titles for n in called}
        names |= titles
    return names


def test_every_required_check_is_reported_for_pull_requests_and_the_merge_queue():
    workflow = load_workflow("pull-request.yml")
    assert set(workflow["on"]) >= {"pull_request", "merge_group"}  # one workflow, both events
    reported = _check_names("pull-request.yml")
    for check in REQUIRED_CHECKS:
        assert check in reported, f"required check {check!r} never appears; reported: {reported}"
    # Control: the per-stack names the old ruleset required are not among them.
    assert not any(name.startswith("preview (staging)") for name in reported)
    assert any(name.startswith("preview (${{ matrix.stack }})") for name in reported)


def test_the_previews_verdict_passes_skipped_forks_and_fails_a_failed_preview():
    ran = {
        "stacks": {"result": "success"},  # the reader runs for every event, forks included
        "checks": {"result": "success"},
        "gate": {"result": "success", "outputs": {"run": "true"}},
    }
    pull = {"preview": {"result": "success"}, "queue-preview": {"result": "skipped"}}
    assert "passed" in verdict({**ran, **pull})
    queue = {"preview": {"result": "skipped"}, "queue-preview": {"result": "success"}}
    assert "passed" in verdict({**ran, **queue})
    with pytest.raises(DeployError, match="failure"):
        verdict({**ran, **pull, "preview": {"result": "failure"}})
    with pytest.raises(DeployError, match="none ran"):
        verdict({**ran, "preview": {"result": "skipped"}, "queue-preview": {"result": "skipped"}})
    skipped = {**ran, "gate": {"result": "success", "outputs": {"run": "false"}}}
    both_skipped = {"preview": {"result": "skipped"}, "queue-preview": {"result": "skipped"}}
    assert "skipped" in verdict({**skipped, **both_skipped})
    with pytest.raises(DeployError, match="checks"):
        verdict({**skipped, "checks": {"result": "failure"}, **both_skipped})
    # stacks.yaml previews no stack on pull requests: the skipped pull-request previews pass.
    none_on_pulls = {**ran, "stacks": {"result": "success", "outputs": {"pull_requests": "[]"}}}
    assert "no stack is previewed" in verdict({**none_on_pulls, **both_skipped})
    with pytest.raises(DeployError, match="stacks"):  # a broken stacks.yaml fails the check
        verdict({**skipped, "stacks": {"result": "failure"}, **both_skipped})


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
    preview = _jobs("preview-stack.yml")["preview"]
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


def test_each_job_assumes_the_role_contract_c2_gives_it():
    # Which role each variable names, and which subject it trusts, is proven in tests/trust.
    preview = _jobs("preview-stack.yml")["preview"]
    assert _step(preview, "configure-aws-credentials")["with"]["role-to-assume"] == (
        "${{ inputs.role_arn }}"
    )
    plan_role = "${{ vars[format('AWS_PLAN_ROLE_ARN_{0}', matrix.key)] }}"
    drift = _jobs("drift.yml")["drift"]
    assert _step(drift, "configure-aws-credentials")["with"]["role-to-assume"] == plan_role
    resolve = _jobs("rollback.yml")["resolve"]
    assert _step(resolve, "configure-aws-credentials")["with"]["role-to-assume"] == plan_role
    plan = _jobs("deploy-stack.yml")["plan"]
    assert _step(plan, "configure-aws-credentials")["with"]["role-to-assume"] == (
        "${{ inputs.plan_role_arn }}"
    )
    for name in ("deploy.yml", "rollback.yml"):
        for job in _jobs(name).values():
            if job.get("uses", "").endswith("deploy-stack.yml"):
                assert "AWS_PLAN_ROLE_ARN_" in job["with"]["plan_role_arn"], name
    # The plan that is applied is made by the deploy role, in the environment's job.
    deploy = _jobs("deploy-stack.yml")["deploy"]
    assert _step(deploy, "configure-aws-credentials")["with"]["role-to-assume"] == (
        "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    )
    assert _step_index(deploy, "configure-aws-credentials") < _step_index(deploy, "--save-plan")


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_no_long_lived_pulumi_secret_and_no_silenced_failure_in_any_workflow(name):
    text = (WORKFLOWS / name).read_text()
    # One repository secret is allowed: the smoke account's password (an application login with
    # no cloud power, issue 23's confirmed sign-up); every cloud credential is OIDC.
    text = text.replace("${{ secrets.SMOKE_ACCOUNT_PASSWORD }}", "")
    for forbidden in ("PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "secrets.", "|| true"):
        assert forbidden not in text, f"{name} uses {forbidden!r}"


# --- merge to main --------------------------------------------------------------------------


def test_main_ships_checks_then_one_image_then_staging_then_production():
    workflow = load_workflow("deploy.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    jobs = workflow["jobs"]
    assert _ancestors(jobs, "image") == {"checks"}
    assert _ancestors(jobs, "wave-1") == {"stacks", "checks", "image"}
    # Wave 2 only after every leg of wave 1 succeeded: `needs`, and an `if` without a status
    # function (GitHub adds `success()`); skipped when stacks.yaml puts no stack there.
    assert _ancestors(jobs, "wave-2") == {"stacks", "checks", "image", "wave-1"}
    assert jobs["wave-2"]["if"] == "needs.stacks.outputs.second != '[]'"
    for job_id, expected in [
        ("wave-1", [("staging", "staging")]),
        ("wave-2", [("prod", "production")]),
    ]:
        job = jobs[job_id]
        assert [(r["stack"], r["environment"]) for r in _rows(job)] == expected
        assert job["uses"] == "$/.github/workflows/deploy-stack.yml"
        assert job["name"] == "${{ matrix.environment }}"  # checks keep their names
        for key in ("stack", "environment", "region", "smoke"):
            assert job["with"][key].startswith(f"${{{{ matrix.{key} }}}}")
        # The same digest, built once, goes to every stack.
        assert job["with"]["image_ref"] == "${{ needs.image.outputs.image_ref }}"
    # No run-wide lock (a waiting prod approval must not hold staging): only re-runs of one
    # commit share a group; the stacks' locks are in deploy-stack.yml.
    assert workflow["concurrency"] == {
        "group": "deploy-${{ github.sha }}",
        "cancel-in-progress": False,
    }
    assert [r["smoke"] for r in _rows(jobs["wave-2"])] == ["read-only"]


def test_the_image_is_pushed_once_and_addressed_by_digest():
    image = _jobs("deploy.yml")["image"]
    build = [s for s in _steps(image) if "docker/build-push-action" in s.get("uses", "")]
    assert len(build) == 1
    assert build[0]["with"]["push"] is True
    assert build[0]["with"]["context"] == "."
    compose = _steps(image)[_step_index(image, "image_ref compose")]
    # A re-run reuses the digest its first attempt pushed (tags are immutable).
    assert compose["env"]["DIGEST"] == (
        "${{ steps.existing.outputs.digest || steps.build.outputs.digest }}"
    )
    assert _step_index(image, "scripts.deploy.existing_image") < _step_index(image, "build-push")
    assert build[0]["if"] == "steps.existing.outputs.digest == ''"
    assert image["environment"] == "release"
    assert image["outputs"]["image_ref"] == "${{ steps.ref.outputs.image_ref }}"


def test_the_preview_is_shown_before_approval_and_the_artifact_carries_no_plan():
    jobs = load_workflow("deploy-stack.yml")["jobs"]
    plan, deploy = jobs["plan"], jobs["deploy"]
    assert "environment" not in plan  # it runs before the reviewers are asked
    assert deploy["needs"] == "plan"
    order = [
        _step_index(plan, "scripts.deploy.secrets_provider"),
        _step_index(plan, "state_identity record"),
        _step_index(plan, "pulumi config set"),
        _step_index(plan, "pulumi preview"),
        _step_index(plan, "render_preview_comment"),
        _step_index(plan, "plan_manifest write"),
        _step_index(plan, "upload-artifact"),
    ]
    assert order == sorted(order)
    preview = _step(plan, "pulumi preview")["run"]
    assert "--policy-pack policy" in preview
    # Issue 22, item 5: no plan leaves a job; the artifact holds steps as data, the state's
    # identity and the manifest (tests/delivery/test_plan_manifest.py reads its bytes).
    assert "--save-plan" not in preview
    upload = _step(plan, "upload-artifact")["with"]
    assert upload["path"] == "${{ runner.temp }}/approved"
    for step in _steps(plan):
        assert "approved/plan.json" not in step.get("run", "")
    assert "--summary" in _step(plan, "render_preview_comment")["run"]


def test_a_stack_deploy_migrates_then_applies_the_plan_then_verifies_then_smoke_tests():
    job = load_workflow("deploy-stack.yml")["jobs"]["deploy"]
    order = [
        _step_index(job, "scripts.deploy.secrets_provider"),
        _step_index(job, "configure-aws-credentials"),
        _step_index(job, "scripts.preflight"),
        _step_index(job, "download-artifact"),
        _step_index(job, "plan_manifest check"),
        _step_index(job, "state_identity check"),
        _step_index(job, "--save-plan"),
        _step_index(job, "plan_manifest match"),
        _step_index(job, GATE),
        _step_index(job, "scripts.deploy.run_migration"),
        _step_index(job, "pulumi up"),
        _step_index(job, "scripts.deploy.verify_rollout"),
        _step_index(job, "scripts.deploy.smoke"),
    ]
    assert order == sorted(order)
    up = _step(job, "pulumi up")["run"]
    for flag in ("--plan", "--policy-pack policy", "--yes"):
        assert flag in up
    assert "--image" in _step(job, "scripts.deploy.verify_rollout")["run"]
    # Every `pulumi up` anywhere enforces the policy pack, and none is targeted (item 10).
    for name in ALL_WORKFLOWS:
        for _, job_ in _jobs(name).items():
            for step in _steps(job_):
                if "pulumi up" in step.get("run", ""):
                    assert "--policy-pack policy" in step["run"], name
                assert "--target" not in step.get("run", ""), name


def test_preflight_runs_its_aws_half_after_python_and_credentials_before_pulumi():
    # Contract C3.
    job = load_workflow("deploy-stack.yml")["jobs"]["deploy"]
    step = _step(job, "scripts.preflight")
    assert step["run"] == '.venv/bin/python -m scripts.preflight --stack "$STACK" --only aws'
    first_pulumi = min(
        index for index, s in enumerate(_steps(job)) if "pulumi " in s.get("run", "")
    )
    assert _step_index(job, SETUP) < _step_index(job, "configure-aws-credentials")
    assert _step_index(job, "configure-aws-credentials") < _step_index(job, "scripts.preflight")
    assert _step_index(job, "scripts.preflight") < first_pulumi


SETUP = "$/.github/actions/setup"


def _runs_pulumi(step: dict[str, Any]) -> bool:
    return (
        re.search(r"(^|\s|\()pulumi (preview|up|refresh|stack|config)", step.get("run", ""))
        is not None
    )


def test_every_job_checks_the_stack_files_secrets_provider_before_any_pulumi_command():
    # Issue 22, item 6: without `secretsprovider:`/`encryptedkey:` Pulumi falls back to a
    # passphrase and fails with its own message; ours names the guide step.
    checked = set()
    for name in ALL_WORKFLOWS:
        for job_id, job in _jobs(name).items():
            pulumi = [i for i, step in enumerate(_steps(job)) if _runs_pulumi(step)]
            if not pulumi:
                continue
            check = _step_index(job, "scripts.deploy.secrets_provider")
            assert check < min(pulumi), f"{name}/{job_id}"
            assert _step_index(job, SETUP) < check, f"{name}/{job_id}"
            checked.add(f"{name}/{job_id}")
    assert checked == {
        "deploy-stack.yml/plan",
        "deploy-stack.yml/deploy",
        "drift.yml/drift",
        "preview-stack.yml/preview",
        "rollback.yml/resolve",
    }


def test_no_skip_preview_anywhere_and_plans_are_experimental_on_purpose():
    # Issue 22, item 4: with --skip-preview, `up --plan` finds a violation only part-way.
    for name in ALL_WORKFLOWS:
        assert "--skip-preview" not in (WORKFLOWS / name).read_text(), name
    job = load_workflow("deploy-stack.yml")["jobs"]["deploy"]
    for fragment in ("--save-plan", "pulumi up"):
        assert _step(job, fragment)["env"]["PULUMI_EXPERIMENTAL"] == "true", fragment


def test_a_stale_state_is_refused_before_the_plan_and_again_before_up():
    job = load_workflow("deploy-stack.yml")["jobs"]["deploy"]
    recorded = '--recorded "$RUNNER_TEMP/approved/state.json"'
    checks = [i for i, s in enumerate(_steps(job)) if "state_identity check" in s.get("run", "")]
    assert len(checks) == 2
    assert checks[0] < _step_index(job, "--save-plan")
    up_step = _step(job, "pulumi up")
    assert up_step is _steps(job)[checks[1]], "checked in the step that runs up, just before it"
    assert up_step["run"].index("state_identity check") < up_step["run"].index("pulumi up")
    assert all(recorded in _steps(job)[i]["run"] for i in checks)
    plan = load_workflow("deploy-stack.yml")["jobs"]["plan"]
    assert "pulumi stack export" in _step(plan, "state_identity record")["run"]
    assert _step_index(plan, "state_identity record") < _step_index(plan, "pulumi preview")


# GitHub docs, "Control the concurrency of workflows and jobs" (docs.github.com/en/actions/
# how-tos/write-workflows/choose-when-workflows-run/control-workflow-concurrency, read 2026-12-07)
# and the changelog of 2026-05-07 ("GitHub Actions concurrency groups now allow larger queues"):
# by default (`queue: single`) a newly queued job or run cancels the *pending* one of its group;
# `queue: max` keeps up to 100 pending, in order; `queue: max` with `cancel-in-progress: true` is
# a validation error. A job waiting for an environment's approval is pending.
LOCK = {"cancel-in-progress": False, "queue": "max"}


def _stack_lock_holders() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, job_id, job)
        for name in ALL_WORKFLOWS
        for job_id, job in _jobs(name).items()
        if job.get("uses", "").endswith("deploy-stack.yml")
    ]


def _group(owner: dict[str, Any]) -> str | None:
    concurrency = owner.get("concurrency")
    return concurrency.get("group") if isinstance(concurrency, dict) else concurrency


def test_each_stack_deploy_runs_under_its_lock_which_queues_and_never_cancels():
    holders = _stack_lock_holders()
    assert {(name, job_id) for name, job_id, _ in holders} == {
        ("deploy.yml", "wave-1"),
        ("deploy.yml", "wave-2"),
        ("rollback.yml", "rollback"),
    }
    for name, job_id, job in holders:
        assert job["with"]["stack"] == "${{ matrix.stack }}"
        expected = "deploy-${{ matrix.stack }}"
        assert job["concurrency"] == {"group": expected, **LOCK}, f"{name}/{job_id}"
    # The called workflow takes no group of the same name (it would wait for its caller).
    called = load_workflow("deploy-stack.yml")
    assert "concurrency" not in called
    assert all("concurrency" not in job for job in called["jobs"].values())
    deploy = called["jobs"]["deploy"]
    assert deploy["environment"]["name"] == "${{ inputs.environment }}"


STACK_LOCKS = {f"deploy-{s.stack}" for s in read_stacks()}


def _stacks_of(workflow: dict[str, Any], job: dict[str, Any]) -> dict[str, list[str]]:
    """The values `matrix.stack` and `inputs.stack` take in this workflow or job."""
    rows = _rows(job)
    dispatch = (
        (workflow["on"].get("workflow_dispatch") or {}) if isinstance(workflow["on"], dict) else {}
    )
    options = ((dispatch.get("inputs") or {}).get("stack") or {}).get("options") or []
    return {"matrix.stack": [row["stack"] for row in rows], "inputs.stack": list(options)}


def _concrete_groups(group: str, stacks: dict[str, list[str]]) -> set[str]:
    """Every group name an expression takes (GitHub compares them case-insensitively)."""
    match = re.search(r"\$\{\{ (matrix\.stack|inputs\.stack) \}\}", group)
    if match is None or not stacks[match[1]]:
        return {group.lower()}
    return {group.replace(match[0], stack).lower() for stack in stacks[match[1]]}


def lock_violations(workflows: Path) -> list[str]:
    """Whoever joins a stack's deploy group must queue behind it (`queue: max`) and never cancel
    (`cancel-in-progress: false`); otherwise it cancels a deploy pending there."""
    found = []
    for path in sorted(workflows.glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        workflow["on"] = workflow.pop(True, workflow.get("on"))
        owners = [("(workflow)", workflow, {})] + [
            (job_id, job, job) for job_id, job in workflow["jobs"].items()
        ]
        for owner_id, owner, job in owners:
            group = _group(owner)
            if not group:
                continue
            names = _concrete_groups(str(group), _stacks_of(workflow, job))
            concurrency = owner["concurrency"] if isinstance(owner["concurrency"], dict) else {}
            if names & STACK_LOCKS and (
                concurrency.get("queue") != "max"
                or concurrency.get("cancel-in-progress") is not False
            ):
                found.append(f"{path.name}/{owner_id} joins {sorted(names & STACK_LOCKS)}")
    return found


def test_nothing_can_cancel_a_pending_deploy():
    # Issue 21, item 5: drift, rollback, newer merges: nothing cancels a deploy waiting for its
    # approval. Drift has a group of its own; the locks' holders all queue.
    assert lock_violations(WORKFLOWS) == []
    drift = _jobs("drift.yml")["drift"]
    assert drift["concurrency"] == {
        "group": "drift-${{ matrix.stack }}",
        "cancel-in-progress": False,
    }
    holders = {
        f"{name}/{job_id}": _concrete_groups(
            job["concurrency"]["group"], _stacks_of(load_workflow(name), job)
        )
        for name, job_id, job in _stack_lock_holders()
    }
    assert holders == {
        "deploy.yml/wave-1": {"deploy-staging"},
        "deploy.yml/wave-2": {"deploy-prod"},
        "rollback.yml/rollback": {"deploy-staging", "deploy-prod"},
    }


def _edited_workflows(tmp_path: Path, name: str, old: str, new: str) -> Path:
    target = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, target)
    text = (target / name).read_text()
    assert old in text
    (target / name).write_text(text.replace(old, new))
    return target


def test_control_drift_in_the_deploy_group_is_caught(tmp_path):
    broken = _edited_workflows(
        tmp_path,
        "drift.yml",
        "group: drift-${{ matrix.stack }}",
        "group: deploy-${{ matrix.stack }}",
    )
    assert lock_violations(broken) == ["drift.yml/drift joins ['deploy-prod', 'deploy-staging']"]


def test_control_a_rollback_without_the_queue_is_caught(tmp_path):
    text = (WORKFLOWS / "rollback.yml").read_text()
    assert text.count("      queue: max\n") == 1
    broken = _edited_workflows(tmp_path, "rollback.yml", "      queue: max\n", "")
    assert lock_violations(broken) == [
        "rollback.yml/rollback joins ['deploy-prod', 'deploy-staging']"
    ]


def test_control_a_differently_cased_group_is_the_same_lock(tmp_path):
    broken = _edited_workflows(
        tmp_path,
        "drift.yml",
        "group: drift-${{ matrix.stack }}",
        "group: Deploy-${{ matrix.stack }}",
    )
    assert len(lock_violations(broken)) == 1


# --- rollback and drift ---------------------------------------------------------------------


def test_rollback_is_one_dispatch_that_redeploys_the_previous_image_without_migrating():
    workflow = load_workflow("rollback.yml")
    stack = workflow["on"]["workflow_dispatch"]["inputs"]["stack"]
    # Free text, checked against stacks.yaml by the first job (a choice would list the stacks
    # a second time); every later job runs on the one row it selected.
    assert stack["type"] == "string"
    jobs = workflow["jobs"]
    reader = _steps(jobs["stacks"])[_step_index(jobs["stacks"], "scripts.deploy.stacks")]
    assert reader["run"].startswith('python3 -m scripts.deploy.stacks matrices --stack "$STACK"')
    assert reader["env"]["STACK"] == "${{ inputs.stack }}"
    for job_id in ("resolve", "rollback"):
        assert "stacks" in _ancestors(jobs, job_id)
        assert [r["stack"] for r in _rows(jobs[job_id], stack="prod")] == ["prod"]
    with pytest.raises(DeployError, match="unknown stack 'production'"):
        _rows(jobs["rollback"], stack="production")
    assert (
        "scripts.deploy.previous_image"
        in _steps(jobs["resolve"])[_step_index(jobs["resolve"], "previous_image")]["run"]
    )
    rollback = jobs["rollback"]
    assert rollback["needs"] == ["stacks", "resolve"]
    assert rollback["uses"] == "$/.github/workflows/deploy-stack.yml"
    assert rollback["with"]["image_ref"] == "${{ needs.resolve.outputs.image_ref }}"
    assert rollback["with"]["run_migrations"] is False
    # prod is still behind its reviewers, and smoke-tested read-only
    assert rollback["with"]["environment"].startswith("${{ matrix.environment }}")
    assert rollback["with"]["smoke"] == "${{ matrix.smoke }}"
    assert [(r["environment"], r["smoke"]) for r in _rows(rollback, stack="prod")] == [
        ("production", "read-only")
    ]
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_drift_is_checked_daily_for_each_stack_and_fails_visibly():
    workflow = load_workflow("drift.yml")
    assert workflow["on"]["schedule"][0]["cron"]
    assert "workflow_dispatch" in workflow["on"]
    job = workflow["jobs"]["drift"]
    assert [row["stack"] for row in _rows(job)] == ["staging", "prod"]
    assert job["strategy"]["fail-fast"] is False
    # Refresh-only: compares the state with AWS, not with the code (a merge waiting for
    # approval is not drift), in a group of its own (test_nothing_can_cancel_a_pending_deploy).
    run = _steps(job)[_step_index(job, "pulumi refresh")]["run"]
    assert "--preview-only" in run
    assert "--expect-no-changes" in run
    assert "pulumi preview" not in str(_steps(job))
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


def test_previews_keep_the_deployed_image_so_they_show_infrastructure_changes_only():
    # Without this, every preview would report the image as changed.
    job = _jobs("preview-stack.yml")["preview"]
    keep = _step_index(job, "pulumi stack output")
    run = _steps(job)[keep]["run"]
    assert 'pulumi config set --stack "$STACK" image_ref "$image"' in run  # the project's key
    assert "image_ref --optional" in run  # absent on a new stack; a failing read still fails
    assert keep < _step_index(job, "pulumi preview")


def test_the_platform_bake_limit_is_computed_from_the_deploy_jobs_real_timeout():
    # Issue 11, fault 5: `pulumi up` waits for the rollout and the blue/green bake; the config
    # refuses a bake that cannot fit the deploy job. The limit must come from the job as written.
    from infra.config import DEPLOY_JOB_MINUTES

    deploy = _jobs("deploy-stack.yml")["deploy"]
    assert deploy["timeout-minutes"] == DEPLOY_JOB_MINUTES
    durations = [
        int(step["with"]["role-duration-seconds"])
        for step in _steps(deploy)
        if "role-duration-seconds" in step.get("with", {})
    ]
    assert durations, "the deploy job assumes its role with an explicit session length"
    assert min(durations) >= DEPLOY_JOB_MINUTES * 60


# --- the destructive-change gate (issue 16; scripts/deploy/destructive_gate.py) --------------

GATE = "scripts.deploy.destructive_gate"


def _runs_the_gate(job: dict[str, Any]) -> bool:
    if job.get("uses", "").endswith(CALLED_WITH_AWS):
        return True  # their jobs run it
    return any(GATE in step.get("run", "") for step in _steps(job))


def _step(job: dict[str, Any], fragment: str) -> dict[str, Any]:
    return _steps(job)[_step_index(job, fragment)]


def test_adding_or_removing_a_label_runs_the_previews_again():
    trigger = load_workflow("pull-request.yml")["on"]
    assert {"opened", "synchronize", "reopened", "labeled", "unlabeled"} <= set(
        trigger["pull_request"]["types"]
    )
    assert "merge_group" in trigger


def test_the_gate_judges_each_stacks_pull_request_preview_after_its_comment():
    preview = _jobs("preview-stack.yml")["preview"]
    run = _step(preview, "pulumi preview")
    assert '--event-log "$RUNNER_TEMP/events.jsonl"' in run["run"]
    assert run["env"]["PULUMI_DEBUG_COMMANDS"] == "true"  # --event-log exists only with it
    order = [
        _step_index(preview, "pulumi preview"),
        _step_index(preview, "scripts.deploy.plan_json"),
        _step_index(preview, "render_preview_comment"),
        _step_index(preview, "upsert_pr_comment"),
        _step_index(preview, GATE),
    ]
    assert order == sorted(order), "sanitise, show (block first), post, then judge"
    sanitise = _step(preview, "scripts.deploy.plan_json")["run"]
    assert 'rm -f "$RUNNER_TEMP/events.jsonl"' in sanitise, "the raw log holds inputs: deleted"
    render = _step(preview, "render_preview_comment")["run"]
    gate = _step(preview, GATE)
    plan = '"$RUNNER_TEMP/plan-$STACK.json"'
    assert f"--output {plan}" in sanitise
    assert f"--plan {plan}" in render
    assert f"--plan {plan}" in gate["run"]
    assert '--stack "$STACK"' in gate["run"]
    for flag in ("--labels", "--label-events", "--author", '--group "$RUNNER_TEMP/group.json"'):
        assert flag in gate["run"]
    # In the merge queue, every pull request of the group (issue 21, item 6).
    group = _step(preview, "scripts.deploy.pull_group")
    assert "github.event_name == 'merge_group'" in group["if"]
    assert "--event merge_group" in group["run"]
    assert group["env"]["BASE_SHA"] == "${{ github.event.merge_group.base_sha }}"
    assert group["env"]["HEAD_SHA"] == "${{ github.event.merge_group.head_sha }}"
    assert _step_index(preview, "scripts.deploy.pull_group") < _step_index(preview, GATE)
    assert "!cancelled()" in gate["if"]
    assert "continue-on-error" not in gate


def test_a_failed_pull_request_preview_passes_only_as_an_approved_destructive_change():
    preview = _jobs("preview-stack.yml")["preview"]
    step = _step(preview, "pulumi preview")
    # Prod's own refusal to replace a protected resource fails the preview; the gate decides.
    assert step.get("continue-on-error") is True
    last = _steps(preview)[-1]
    assert _step_index(preview, GATE) < len(_steps(preview)) - 1
    condition = last["if"]
    assert "steps.preview.outcome == 'failure'" in condition
    assert "steps.destructive.outputs.destructive == 'true'" in condition
    assert "steps.destructive.outputs.approved == 'true'" in condition
    assert _step(preview, GATE)["id"] == "destructive"
    assert "exit 1" in last["run"]


def test_the_preview_is_judged_before_the_approval_for_every_pull_request_of_the_push():
    jobs = load_workflow("deploy-stack.yml")["jobs"]
    plan = jobs["plan"]
    assert "environment" not in plan, "the reviewers are asked only after this job"
    saved = _step(plan, "pulumi preview")
    # The same preview run logs its steps: the gate judges what the reviewers see.
    assert '--event-log "$RUNNER_TEMP/events.jsonl"' in saved["run"]
    assert saved["env"]["PULUMI_DEBUG_COMMANDS"] == "true"
    order = [
        _step_index(plan, "pulumi preview"),
        _step_index(plan, "scripts.deploy.plan_json"),
        _step_index(plan, GATE),
        _step_index(plan, "upload-artifact"),
    ]
    assert order == sorted(order)
    sanitise = _step(plan, "scripts.deploy.plan_json")["run"]
    assert '--output "$RUNNER_TEMP/approved/destructive.json"' in sanitise
    assert 'rm -f "$RUNNER_TEMP/events.jsonl"' in sanitise
    gate = _step(plan, GATE)
    assert '--plan "$RUNNER_TEMP/approved/destructive.json"' in gate["run"]
    assert '--event push --base "$BASE_SHA" --head "$GITHUB_SHA"' in gate["run"]
    assert "continue-on-error" not in gate
    # The pushes' range: main before and after (a queue merges up to five PRs in one push).
    for name, job_id, job in _stack_lock_holders():
        if name == "deploy.yml":
            assert job["with"]["base_sha"] == "${{ github.event.before }}", job_id
        else:
            assert "base_sha" not in job["with"], "a rollback carries no pull request"


def test_the_deploy_refuses_the_same_plan_without_the_label_before_changing_anything():
    deploy = load_workflow("deploy-stack.yml")["jobs"]["deploy"]
    gate = _step(deploy, GATE)
    assert "if" not in gate, "runs on every deploy"
    assert "continue-on-error" not in gate
    # The plan to apply, with every pull request's labels read now.
    assert '--plan "$RUNNER_TEMP/apply/destructive.json"' in gate["run"]
    assert '--group "$RUNNER_TEMP/group.json"' in gate["run"]
    assert '--event push --base "$BASE_SHA" --head "$GITHUB_SHA"' in gate["run"]
    match = _step(deploy, "plan_manifest match")["run"]
    assert '--plan "$RUNNER_TEMP/apply/destructive.json"' in match
    save = _step(deploy, "--save-plan")["run"]
    assert '--save-plan "$RUNNER_TEMP/apply/plan.json"' in save
    assert '--plan "$RUNNER_TEMP/apply/plan.json"' in _step(deploy, "pulumi up")["run"]
    order = [
        _step_index(deploy, "download-artifact"),
        _step_index(deploy, "plan_manifest check"),
        _step_index(deploy, "plan_manifest match"),
        _step_index(deploy, GATE),
        _step_index(deploy, "run_migration"),
        _step_index(deploy, "pulumi up"),
    ]
    assert order == sorted(order)


def test_every_deploy_of_either_stack_goes_through_the_gate():
    callers = [
        (name, job_id, job)
        for name in ALL_WORKFLOWS
        for job_id, job in _jobs(name).items()
        if job.get("uses", "").endswith(CALLED_WITH_AWS)
    ]
    stacks = {
        row["stack"] for name, _, job in callers if name == "deploy.yml" for row in _rows(job)
    }
    assert stacks == {"staging", "prod"}
    for called in CALLED_WITH_AWS:
        assert all(_runs_the_gate(job) for job in load_workflow(called)["jobs"].values())
    for name, job_id, job in callers:
        # A reusable workflow's jobs get no more than the caller grants.
        assert job["permissions"].get("issues") == "read", f"{name}/{job_id}"
        assert job["permissions"].get("pull-requests") in ("read", "write"), f"{name}/{job_id}"


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_issue_and_pull_request_reads_only_where_the_gate_needs_them(name):
    for job_id, job in _jobs(name).items():
        permissions = job["permissions"]
        where = f"{name}/{job_id}"
        if _runs_the_gate(job):
            assert permissions.get("issues") == "read", f"{where}: the label's timeline"
            assert permissions.get("pull-requests") in ("read", "write"), where
        else:
            assert "issues" not in permissions, f"{where} does not run the gate"
            assert "pull-requests" not in permissions, where
        assert permissions.get("issues") in (None, "read"), f"{where}: never write issues"


# --- timeouts and retention that fit the worst path and the approval window (issue 21, item 7) --

# Minutes a queued job may wait for a hosted runner before its own timeout starts counting; the
# merge queue's clock runs from the moment the group's checks are requested.
RUNNER_PICKUP_MARGIN = 10
# GitHub docs, "Managing environments for deployment" / "Reviewing deployments": a job waiting
# for its environment's required reviewers fails after 30 days.
APPROVAL_WAIT_DAYS = 30


def _worst_path_minutes(name: str, event: str | None = None) -> int:
    """The longest chain of `timeout-minutes` through the workflow's `needs` (a called workflow
    counts its own longest chain); jobs whose `if` requires another event are left out."""
    jobs = _jobs(name)

    def runs(job: dict[str, Any]) -> bool:
        required = re.findall(r"github\.event_name == '(\w+)'", str(job.get("if", "")))
        return event is None or not required or event in required

    def duration(job: dict[str, Any]) -> int:
        if "uses" in job:
            return _worst_path_minutes(job["uses"].rsplit("/", 1)[-1], event)
        return int(job["timeout-minutes"])

    finished: dict[str, int] = {}

    def finish(job_id: str) -> int:
        if job_id not in finished:
            job = jobs[job_id]
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            start = max((finish(n) for n in needs), default=0)
            finished[job_id] = start + (duration(job) if runs(job) else 0)
        return finished[job_id]

    return max(finish(job_id) for job_id in jobs)


def _merge_queue_timeout() -> int:
    """`check_response_timeout_minutes` of the merge queue rule scripts.github_setup writes."""
    found = {
        int(value)
        for path in (REPO_ROOT / "scripts" / "github_setup").glob("*.py")
        for value in re.findall(r'"check_response_timeout_minutes":\s*(\d+)', path.read_text())
    }
    assert len(found) == 1, (
        f"one merge-queue check timeout expected in scripts/github_setup: {found}"
    )
    return found.pop()


def test_the_merge_queue_waits_longer_than_the_worst_path_of_its_checks():
    worst = _worst_path_minutes("pull-request.yml", "merge_group")
    # checks / test (40) -> merge queue preview (30) -> previews (5), as written today.
    assert worst >= 75
    assert _merge_queue_timeout() >= worst + RUNNER_PICKUP_MARGIN, (
        f"the merge queue gives its checks {_merge_queue_timeout()} min; they may take {worst}"
    )


def test_control_the_old_sixty_minute_queue_timeout_is_too_short():
    assert _worst_path_minutes("pull-request.yml", "merge_group") + RUNNER_PICKUP_MARGIN > 60


def test_the_approval_record_outlives_the_approval_window():
    plan = _jobs("deploy-stack.yml")["plan"]
    upload = _step(plan, "upload-artifact")["with"]
    # The deploy job starts waiting only after the plan job uploaded: a day of margin.
    assert int(upload["retention-days"]) > APPROVAL_WAIT_DAYS
    assert (
        _step(_jobs("deploy-stack.yml")["deploy"], "download-artifact")["with"]["name"]
        == (upload["name"])
    )
