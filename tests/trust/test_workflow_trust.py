"""Every job that assumes an AWS role can assume exactly that role, for as long as it may run.

The claims are derived from the workflow files (scripts/trust/github_oidc.py), the variables from
scripts.github_setup's wiring, the roles and their trust policies from the bootstrap program
evaluated under mocks; the policies are evaluated with AWS's condition semantics
(scripts/trust/policy_evaluation.py, tested on AWS's documented examples in
test_policy_evaluation.py). The controls at the end break one side at a time and expect the
proof to fail, naming both sides.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from scripts.deploy.preview_gate import decide
from scripts.deploy.stacks import read_stacks
from scripts.github_setup.wiring import RELEASE_ENVIRONMENT, build_wiring
from scripts.trust.check import CiRole, roles_accepting, trust_failures
from scripts.trust.github_oidc import Assumption, Event, VarRef, assumptions
from tests.delivery.support import WORKFLOWS

from .conftest import PREFIX, REPOSITORY, REVIEWERS, ci_roles

ALL = list(assumptions(WORKFLOWS))


def _events(*names: str) -> set[str]:
    return {a.event.name for a in ALL if a.event.name in names}


def test_the_proof_sees_every_kind_of_run_and_every_role_using_job():
    assert _events("push", "pull_request", "merge_group", "workflow_dispatch", "schedule") == {
        "push", "pull_request", "merge_group", "workflow_dispatch", "schedule"
    }  # fmt: skip
    jobs = {a.job for a in ALL}
    for expected in (
        "build and push the image", "staging / plan staging", "staging / deploy staging",
        "production / plan prod", "production / deploy prod",
        "preview (staging) / preview staging", "merge queue preview (prod) / preview prod",
        "drift (staging)", "drift (prod)", "roll back prod / deploy prod",
        "find the previous image of prod",
    ):  # fmt: skip
        assert expected in jobs, sorted(jobs)


def test_every_job_assumes_exactly_its_role_for_its_whole_timeout(bootstrap, wiring):
    # The subjects in the form the bootstrap's own setting names (the stack file's prefix).
    prefix = bootstrap.config.github_sub_claim_prefix
    assert prefix == PREFIX
    failures = trust_failures(
        ALL, sub_claim_prefix=prefix, wiring=wiring, roles=ci_roles(bootstrap)
    )
    assert failures == []


def test_pull_request_jobs_reach_the_preview_role_and_merge_queue_jobs_the_plan_role(
    bootstrap, wiring
):
    # Contract C2 (issue 22): unreviewed code gets the staging-only preview role.
    roles = ci_roles(bootstrap)
    reached = {
        "pull_request": bootstrap.outputs["preview_role_arn"],
        "merge_group": bootstrap.outputs["plan_role_arn"],
    }
    for job in ALL:
        subject = job.subject(PREFIX)
        if job.event.name in reached and subject:
            assert roles_accepting(roles, subject) == [reached[job.event.name]], job.describe()
    queue = f"repo:{REPOSITORY}:ref:refs/heads/gh-readonly-queue/main/pr-9-abc"
    for subject in (f"repo:{REPOSITORY}:pull_request", queue):
        deploy_roles = [t["deploy_role_arn"] for t in bootstrap.outputs["deploy_targets"].values()]
        assert not set(roles_accepting(roles, subject)) & {
            *deploy_roles,
            bootstrap.outputs["image_push_role_arn"],
        }


@pytest.mark.parametrize(
    "subject",
    [
        f"repo:{REPOSITORY}:ref:refs/heads/feature/x",  # push, dispatch or schedule elsewhere
        f"repo:{REPOSITORY}:ref:refs/heads/main-old",  # a prefix of main is not main
        f"repo:{REPOSITORY}:ref:refs/tags/v1.0.0",
        f"repo:{REPOSITORY}:ref:refs/heads/gh-readonly-queue/release/pr-1-abc",  # another queue
        f"repo:{REPOSITORY}:environment:Production",  # environment names compare exactly
        "repo:someone-else/shipyard:ref:refs/heads/main",  # a fork's own runs
        "repo:someone-else/shipyard:environment:production",
        f"repo:{REPOSITORY.upper()}:pull_request",
    ],
)
def test_other_branches_tags_repositories_and_spellings_assume_nothing(bootstrap, subject):
    assert roles_accepting(ci_roles(bootstrap), subject) == []


def test_environment_jobs_run_only_from_main_so_other_branches_get_no_environment_token(wiring):
    used = {a.environment for a in ALL if a.environment}
    assert used == {RELEASE_ENVIRONMENT, "staging", "production"}
    for environment in wiring.environments:
        assert environment.branches == ("main",), environment.name
    production = next(e for e in wiring.environments if e.name == "production")
    assert production.reviewers == REVIEWERS


def test_a_fork_gets_no_token_and_the_gate_skips_its_previews():
    fork_jobs = [a for a in ALL if a.event.from_fork]
    assert fork_jobs
    assert all(a.subject(PREFIX) is None for a in fork_jobs)
    event = {
        "pull_request": {
            "head": {"repo": {"full_name": "someone-else/shipyard", "fork": True}},
            "user": {"login": "someone-else"},
        }
    }
    decision = decide(
        event_name="pull_request", event=event, repository=REPOSITORY, actor="someone-else",
        missing_variables=[],
    )  # fmt: skip
    assert decision.run is False


def test_every_ci_role_has_the_boundary_and_a_session_long_enough(bootstrap):
    (boundary,) = [p for p in bootstrap.of_type("aws:iam/policy:Policy") if p.name == "ci-boundary"]
    longest = max(a.timeout_minutes for a in ALL) * 60
    for role in bootstrap.of_type("aws:iam/role:Role"):
        assert role.inputs["permissionsBoundary"] == boundary.state["arn"], role.urn
        assert role.inputs["maxSessionDuration"] >= longest, role.urn


# --- controls: break one side, the proof must fail and name both sides ------------------------


def _copy_workflows(tmp_path, edit: tuple[str, str, str]):
    target = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, target)
    name, old, new = edit
    path = target / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return target


def test_control_a_wrong_environment_in_a_workflow_fails_naming_job_subject_and_role(
    tmp_path, bootstrap, wiring
):
    broken = _copy_workflows(tmp_path, ("deploy.yml", "environment: release", "environment: build"))
    failures = trust_failures(
        assumptions(broken), sub_claim_prefix=PREFIX, wiring=wiring, roles=ci_roles(bootstrap)
    )
    # The variable now comes from nowhere (no `build` environment is wired) ...
    assert any("build and push the image" in f and "AWS_IMAGE_PUSH_ROLE_ARN" in f for f in failures)
    # ... and with the variable set anyway, the trust policy refuses the subject.
    wired = build_wiring(REPOSITORY, [bootstrap.outputs], reviewers=REVIEWERS)
    wired.variables["AWS_IMAGE_PUSH_ROLE_ARN"] = bootstrap.outputs["image_push_role_arn"]
    failures = trust_failures(
        assumptions(broken), sub_claim_prefix=PREFIX, wiring=wired, roles=ci_roles(bootstrap)
    )
    assert any(
        "sub='repo:shipyard-org/shipyard:environment:build'" in f
        and bootstrap.outputs["image_push_role_arn"] in f
        and "environment:release" in f
        for f in failures
    ), failures


def test_control_a_wrong_subject_in_the_program_fails_naming_both(bootstrap_variant, wiring):
    drifted = bootstrap_variant(release_environment="releases")
    failures = trust_failures(
        ALL,
        sub_claim_prefix=PREFIX,
        wiring=build_wiring(REPOSITORY, [drifted.outputs], reviewers=REVIEWERS),
        roles=ci_roles(drifted),
    )
    assert failures
    assert all("build and push the image" in f for f in failures)
    assert "sub='repo:shipyard-org/shipyard:environment:release'" in failures[0]
    assert "environment:releases" in failures[0]


def test_control_a_plan_role_trusting_only_exact_subjects_blocks_the_merge_queue(bootstrap):
    # Issue 12, item 2: StringEquals cannot match the queue's per-PR branch (the queue's role is
    # the plan role since issue 22).
    roles = ci_roles(bootstrap)
    preview = next(r for r in roles if r.arn == bootstrap.outputs["plan_role_arn"])
    statements = [
        {**s, "Condition": {"StringEquals": {**s["Condition"].get("StringEquals", {}),
                                             **s["Condition"].get("StringLike", {})}}}
        for s in preview.trust["Statement"]
    ]  # fmt: skip
    exact = CiRole(preview.arn, {**preview.trust, "Statement": statements}, 7200)
    queue = [a for a in ALL if a.event.name == "merge_group"]
    failures = trust_failures(
        queue,
        sub_claim_prefix=PREFIX,
        wiring=build_wiring(REPOSITORY, [bootstrap.outputs], reviewers=REVIEWERS),
        roles=[exact if r.arn == preview.arn else r for r in roles],
    )
    assert len(failures) == len(queue)
    assert all("gh-readonly-queue" in f for f in failures)


def test_control_a_job_outliving_its_credentials_fails(bootstrap, wiring, tmp_path):
    # Issue 12, item 6: a 90-minute deploy with the action's default one-hour credentials.
    broken = _copy_workflows(
        tmp_path,
        (
            "deploy-stack.yml",
            "role-duration-seconds: 7200 # >= timeout-minutes (90); the role allows 2 hours",
            "role-duration-seconds: 3600 # the action's default",
        ),
    )
    failures = trust_failures(
        assumptions(broken), sub_claim_prefix=PREFIX, wiring=wiring, roles=ci_roles(bootstrap)
    )
    assert failures
    assert all("credentials last 3600 s" in f and "5400 s" in f for f in failures)


def test_control_the_image_job_without_an_environment_cannot_push(bootstrap, tmp_path, wiring):
    # Issue 12, item 1: the image job's bare-ref subject.
    job = next(a for a in ALL if a.job == "build and push the image")
    bare = Assumption(**{**job.__dict__, "environment": None})
    roles = ci_roles(bootstrap)
    assert bootstrap.outputs["image_push_role_arn"] not in roles_accepting(
        roles, bare.subject(PREFIX) or ""
    )
    assert isinstance(bare.event, Event)


def test_the_wiring_names_exactly_the_variables_the_workflows_read(wiring):
    read = {a.role.name for a in ALL if isinstance(a.role, VarRef)}
    written = set(wiring.variables) | {n for e in wiring.environments for n in e.variables}
    assert read <= written
    text = "\n".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    # `vars.NAME`, or `vars[format('PREFIX_{0}', matrix.key)]` for each declared stack's key.
    named = set(re.findall(r"vars\.([A-Za-z_][A-Za-z0-9_]*)", text))
    for template in re.findall(r"vars\[format\('([A-Z_]+\{0\})', matrix\.key\)\]", text):
        named |= {template.replace("{0}", stack.key) for stack in read_stacks()}
    for name in written:
        assert name in named, f"{name} is set by github_setup but no workflow reads it"
    assert json.dumps(sorted(written))
