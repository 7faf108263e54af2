"""A stack is added with one stack file and one line of stacks.yaml, and moved to another region
by its stack file alone: proven on copies of the repository, with the workflows untouched.

What the workflows would run is read the way GitHub runs them: each workflow's first job runs
scripts/deploy/stacks.py on the copy, and the trust proof (scripts/trust/github_oidc.py) expands
the matrices from its outputs, evaluates every job's role, environment and region, and checks
the roles of a bootstrap that deploys the new stack accept exactly those jobs. The offline plan
(tools/plan) evaluates the new stack's program. Controls: the copy's workflows against the
bootstrap that does not know `dev` fail, naming dev's jobs; an undeclared dispatch is refused.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import pytest

from infra.config import parse_stack_config
from scripts.deploy.errors import DeployError
from scripts.deploy.preview_gate import main as preview_gate_main
from scripts.deploy.preview_gate import required_variables
from scripts.deploy.stacks import DECLARATION, matrices, read_stacks
from scripts.github_setup.wiring import build_wiring
from scripts.trust.check import trust_failures
from scripts.trust.github_oidc import VarRef, assumptions
from tools.paths import REPO_ROOT
from tools.plan.evaluate import run_program
from tools.plan.stack_files import OFFLINE_SECRETS, raw_stack_config

from .conftest import PREFIX, REPOSITORY, REVIEWERS, ci_roles

DEV_LINE = (
    '  - {"stack": "dev", "environment": "dev", "wave": 1, "smoke": "full", '
    '"pull_requests": false}\n'
)


def _copy_repository(target: Path) -> Path:
    """What the workflows and the offline plan read: the stack list, the stack files, the
    project file and the workflows."""
    for path in [REPO_ROOT / DECLARATION, *REPO_ROOT.glob("Pulumi*.yaml")]:
        shutil.copy2(path, target / path.name)
    shutil.copytree(REPO_ROOT / ".github" / "workflows", target / ".github" / "workflows")
    return target


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def with_dev(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _copy_repository(tmp_path_factory.mktemp("with-dev"))
    # The stack file: staging's settings, its own secrets key and tags (what `pulumi stack init
    # dev` and `pulumi config set` would write).
    dev = (root / "Pulumi.staging.yaml").read_text()
    for old, new in (
        ("pulumi-secrets-staging", "pulumi-secrets-dev"),
        ("      environment: staging", "      environment: dev"),
    ):
        assert old in dev
        dev = dev.replace(old, new)
    (root / "Pulumi.dev.yaml").write_text(dev)
    # The one line: first in promotion order.
    _replace(root / DECLARATION, "stacks:\n", "stacks:\n" + DEV_LINE)
    return root


@pytest.fixture(scope="module")
def dev_runs(with_dev: Path) -> list:
    return list(assumptions(with_dev / ".github" / "workflows"))


def test_adding_a_stack_changes_one_line_and_adds_one_stack_file(with_dev):
    added = {p.name for p in with_dev.iterdir()} - {p.name for p in REPO_ROOT.iterdir()}
    assert added == {"Pulumi.dev.yaml"}
    before = (REPO_ROOT / DECLARATION).read_text().splitlines(keepends=True)
    after = (with_dev / DECLARATION).read_text().splitlines(keepends=True)
    assert [line for line in after if line not in before] == [DEV_LINE]
    assert len(after) == len(before) + 1
    workflows = filecmp.dircmp(
        REPO_ROOT / ".github" / "workflows", with_dev / ".github" / "workflows"
    )
    assert workflows.diff_files == workflows.left_only == workflows.right_only == []


def test_the_workflows_derive_dev_in_every_matrix(with_dev):
    outputs = {name: json.loads(value) for name, value in matrices(with_dev).items()}
    assert [r["stack"] for r in outputs["all"]] == ["dev", "staging", "prod"]  # queue, drift
    assert [r["stack"] for r in outputs["first"]] == ["dev", "staging"]  # deployed first
    assert [r["stack"] for r in outputs["second"]] == ["prod"]  # after dev and staging passed
    assert [r["stack"] for r in outputs["pull_requests"]] == ["staging"]
    (dev,) = json.loads(matrices(with_dev, stack="dev")["selected"])
    assert dev == {
        "stack": "dev", "environment": "dev", "region": "us-east-1", "key": "DEV", "smoke": "full"
    }  # fmt: skip


def test_the_preview_gate_requires_devs_variables_with_the_workflows_unchanged(
    with_dev, tmp_path, monkeypatch
):
    """pull-request.yml's gate passes `toJSON(vars)`; the names it requires come from the copy's
    stacks.yaml: dev (previewed in the merge queue only) needs its plan role and its backend."""
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    shipped = {
        "AWS_PREVIEW_ROLE_ARN_STAGING": "arn:aws:iam::123456789012:role/preview-staging",
        "AWS_PLAN_ROLE_ARN_STAGING": "arn:aws:iam::123456789012:role/plan-staging",
        "AWS_PLAN_ROLE_ARN_PROD": "arn:aws:iam::123456789012:role/plan-prod",
        "PULUMI_BACKEND_URL_STAGING": "s3://state",
        "PULUMI_BACKEND_URL_PROD": "s3://state",
    }
    dev = {"AWS_PLAN_ROLE_ARN_DEV": "arn:aws:iam::123456789012:role/plan-dev",
           "PULUMI_BACKEND_URL_DEV": "s3://state"}  # fmt: skip
    # dev first (its place in stacks.yaml); no AWS_PREVIEW_ROLE_ARN_DEV: pull requests do not
    # preview it.
    assert required_variables(read_stacks(with_dev)) == [
        "AWS_PLAN_ROLE_ARN_DEV",
        "PULUMI_BACKEND_URL_DEV",
        *required_variables(read_stacks()),
    ]
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"merge_group": {"head_sha": "abc"}}))

    def gate(variables: dict[str, str], root: Path) -> list[str]:
        output = tmp_path / "output"
        output.write_text("")
        monkeypatch.setenv("GITHUB_OUTPUT", str(output))
        environ = {
            "GITHUB_EVENT_NAME": "merge_group",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPOSITORY,
            "REPOSITORY_VARIABLES": json.dumps(variables),
        }
        assert preview_gate_main(environ, root=root) == 0
        return output.read_text().splitlines()

    # The repository's variables as they were: enough for the original, not for the copy.
    assert "run=true" in gate(shipped, REPO_ROOT)
    lines = gate(shipped, with_dev)
    assert "run=false" in lines
    (reason,) = [line for line in lines if line.startswith("reason=")]
    assert "AWS_PLAN_ROLE_ARN_DEV, PULUMI_BACKEND_URL_DEV are not set" in reason
    # Once `python -m scripts.github_setup` has written dev's variables, the copy previews.
    assert "run=true" in gate({**shipped, **dev}, with_dev)


def test_dev_is_planned_deployed_checked_for_drift_and_rolled_back_with_its_own_role(dev_runs):
    dev_jobs = {(a.workflow, a.job): a for a in dev_runs if "dev" in a.job}
    plan_dev = VarRef("AWS_PLAN_ROLE_ARN_DEV")
    expected = {
        ("deploy.yml", "dev / plan dev"): (None, plan_dev),
        ("deploy.yml", "dev / deploy dev"): ("dev", VarRef("AWS_DEPLOY_ROLE_ARN")),
        ("drift.yml", "drift (dev)"): (None, plan_dev),
        ("pull-request.yml", "merge queue preview (dev) / preview dev"): (None, plan_dev),
        ("rollback.yml", "find the previous image of dev"): (None, plan_dev),
        ("rollback.yml", "roll back dev / plan dev"): (None, plan_dev),
        ("rollback.yml", "roll back dev / deploy dev"): ("dev", VarRef("AWS_DEPLOY_ROLE_ARN")),
    }
    assert set(dev_jobs) == set(expected)
    for key, (environment, role) in expected.items():
        assert (dev_jobs[key].environment, dev_jobs[key].role) == (environment, role), key
        assert dev_jobs[key].region == "us-east-1", key
    # Pull requests (unreviewed code) still preview staging only.
    pulls = {a.job for a in dev_runs if a.event.name == "pull_request" and a.role}
    assert pulls == {"preview (staging) / preview staging"}


def test_every_job_of_the_copy_assumes_exactly_its_role_in_a_bootstrap_that_deploys_dev(
    bootstrap_variant, dev_runs
):
    # The bootstrap's side of adding a stack (docs/getting-started-on-aws.md): dev in its
    # deploy_environments, and `python -m scripts.github_setup` writes dev's variables.
    with_dev = bootstrap_variant(
        deploy_environments=json.dumps({"staging": "staging", "production": "prod", "dev": "dev"})
    )
    wiring = build_wiring(REPOSITORY, [with_dev.outputs], reviewers=REVIEWERS)
    assert "AWS_PLAN_ROLE_ARN_DEV" in wiring.variables
    failures = trust_failures(
        dev_runs, sub_claim_prefix=PREFIX, wiring=wiring, roles=ci_roles(with_dev)
    )
    assert failures == []


def test_control_the_copy_against_a_bootstrap_without_dev_fails_on_devs_jobs(bootstrap, dev_runs):
    wiring = build_wiring(REPOSITORY, [bootstrap.outputs], reviewers=REVIEWERS)
    failures = trust_failures(
        dev_runs, sub_claim_prefix=PREFIX, wiring=wiring, roles=ci_roles(bootstrap)
    )
    assert failures
    assert all("dev" in failure for failure in failures), failures


def test_control_a_rollback_of_an_undeclared_stack_is_refused_before_any_role(with_dev, dev_runs):
    with pytest.raises(DeployError, match=r"unknown stack 'qa': stacks.yaml declares \['dev'"):
        matrices(with_dev, stack="qa")
    refused = [a for a in dev_runs if a.workflow == "rollback.yml" and "no-such-stack" in str(a)]
    assert refused == []
    assert {a.event.inputs["stack"] for a in dev_runs if a.workflow == "rollback.yml"} == {
        "dev", "staging", "prod"
    }  # fmt: skip


def test_the_offline_plan_of_dev_evaluates(with_dev):
    raw = raw_stack_config("dev", OFFLINE_SECRETS, project_dir=with_dev)
    config = parse_stack_config(raw, "dev")
    run = run_program("dev", raw)
    assert run.error is None, run.error
    assert config.environment == "staging"  # dev is built like staging
    names = {r.name for r in run.resources}
    assert any(name.startswith("shipyard-dev") for name in names), sorted(names)[:20]
    assert not any("staging" in name for name in names)


# --- region per stack ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prod_in_ireland(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _copy_repository(tmp_path_factory.mktemp("prod-eu-west-1"))
    # The stack file alone: its region, its secrets key's region, its image replica's registry.
    prod = root / "Pulumi.prod.yaml"
    _replace(prod, "us-east-1", "eu-west-1")
    return root


def test_a_stack_in_another_region_is_reached_there_and_the_rest_stay(prod_in_ireland):
    runs = list(assumptions(prod_in_ireland / ".github" / "workflows"))
    regions = {(a.workflow, a.job): a.region for a in runs}
    for (workflow, job), region in regions.items():
        if job == "build and push the image":
            # The image repository lives in the bootstrap's region (a repository variable).
            assert region == VarRef("AWS_REGION")
        elif "prod" in job:
            assert region == "eu-west-1", (workflow, job)
        else:
            assert region == "us-east-1", (workflow, job)
    assert ("deploy.yml", "production / deploy prod") in regions


def test_the_offline_plan_of_prod_in_another_region_keeps_cloudfronts_certificate_in_us_east_1(
    prod_in_ireland,
):
    # A custom domain: the case with a certificate for CloudFront.
    domain = {
        "shipyard:domain_name": "shop.example.com",
        "shipyard:hosted_zone_id": "Z0123456789ABC",
    }
    raw = raw_stack_config("prod", {**OFFLINE_SECRETS, **domain}, project_dir=prod_in_ireland)
    assert parse_stack_config(raw, "prod").region == "eu-west-1"
    run = run_program("prod", raw)
    assert run.error is None, run.error
    providers = {r.urn: r for r in run.resources if r.type == "pulumi:providers:aws"}
    (pinned,) = [p for p in providers.values() if p.inputs.get("region") == "us-east-1"]
    certificates = [r for r in run.resources if r.type == "aws:acm/certificate:Certificate"]
    cloudfront = [c for c in certificates if c.provider and c.provider.startswith(pinned.urn)]
    assert cloudfront, [(c.name, c.provider) for c in certificates]
    # Everything else goes to the stack's region (the default provider, from aws:region).
    others = [c for c in certificates if c not in cloudfront]
    assert all(not c.provider or not c.provider.startswith(pinned.urn) for c in others)


def test_control_a_stack_file_without_its_region_is_refused_naming_the_line(tmp_path):
    root = _copy_repository(tmp_path)
    _replace(root / "Pulumi.prod.yaml", "  aws:region: us-east-1\n", "")
    with pytest.raises(DeployError, match=r"Pulumi.prod.yaml must set its region once"):
        matrices(root)


def test_control_a_job_on_the_single_region_variable_is_caught(prod_in_ireland, tmp_path):
    # The workflows before issue 24: every job assumed its role in `vars.AWS_REGION`.
    workflows = tmp_path / "workflows"
    shutil.copytree(prod_in_ireland / ".github" / "workflows", workflows)
    single = "aws-region: ${{ vars.AWS_REGION }}"
    _replace(workflows / "drift.yml", "aws-region: ${{ matrix.region }}", single)
    runs = assumptions(workflows, root=prod_in_ireland)
    drifts = [a for a in runs if a.job == "drift (prod)"]  # scheduled and dispatched
    assert drifts
    assert all(a.region == VarRef("AWS_REGION") for a in drifts)  # not prod's eu-west-1
