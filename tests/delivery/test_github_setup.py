"""scripts.github_setup: the dry run prints every call, the wiring follows the bootstrap's
outputs, and applying it twice against a stand-in GitHub API is idempotent."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from scripts.deploy.errors import DeployError
from scripts.github_setup.github_api import RULESET_NAME, apply, dry_run
from scripts.github_setup.wiring import ALLOWED_ACTION_PATTERNS, REQUIRED_CHECKS, build_wiring
from tests.delivery.support import REPO_ROOT, WORKFLOWS

OUTPUTS: dict[str, Any] = {
    "region": "eu-west-1",
    "state_backend_url": "s3://acme-state?region=eu-west-1",
    "preview_role_arn": "arn:aws:iam::111111111111:role/shipyard-ci-preview",
    "image_push_role_arn": "arn:aws:iam::111111111111:role/shipyard-ci-image-push",
    "image_repository_url": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/shipyard",
    "deploy_targets": {
        "staging": {
            "stack": "staging",
            "deploy_role_arn": "arn:aws:iam::111111111111:role/shipyard-ci-deploy-staging",
        },
        "production": {
            "stack": "prod",
            "deploy_role_arn": "arn:aws:iam::111111111111:role/shipyard-ci-deploy-production",
        },
    },
}


def test_the_documented_dry_run_prints_the_full_wiring_for_a_sample_repository():
    result = subprocess.run(
        [sys.executable, "-m", "scripts.github_setup", "--repo", "acme/shop", "--dry-run"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for expected in (
        "PUT /repos/acme/shop/environments/production",
        '"prevent_self_review": true',
        "POST /repos/acme/shop/environments/production/deployment-branch-policies",
        "POST /repos/acme/shop/environments/release/variables",
        '"name": "AWS_IMAGE_PUSH_ROLE_ARN"',
        '"name": "AWS_DEPLOY_ROLE_ARN"',
        '"name": "AWS_PREVIEW_ROLE_ARN_PROD"',
        '"name": "PULUMI_BACKEND_URL_STAGING"',
        "POST /repos/acme/shop/rulesets",
        '"context": "previews"',
        "PUT /repos/acme/shop/actions/permissions/workflow",
        "none sent",
    ):
        assert expected in out, expected
    assert "PULUMI_ACCESS_TOKEN" not in out  # nothing long-lived is wired


def test_the_wiring_follows_two_accounts(tmp_path):
    staging = {**OUTPUTS, "deploy_targets": {"staging": OUTPUTS["deploy_targets"]["staging"]}}
    prod = {
        **OUTPUTS,
        "image_push_role_arn": None,
        "preview_role_arn": "arn:aws:iam::222222222222:role/shipyard-ci-preview",
        "state_backend_url": "s3://acme-prod-state?region=eu-west-1",
        "deploy_targets": {
            "production": {
                "stack": "prod",
                "deploy_role_arn": "arn:aws:iam::222222222222:role/shipyard-ci-deploy-production",
            }
        },
    }
    wiring = build_wiring("acme/shop", [staging, prod], reviewers=["team:acme/release"])
    assert wiring.variables["AWS_PREVIEW_ROLE_ARN_PROD"].startswith("arn:aws:iam::222222222222:")
    assert wiring.variables["PULUMI_BACKEND_URL_PROD"] == "s3://acme-prod-state?region=eu-west-1"
    assert wiring.variables["AWS_PREVIEW_ROLE_ARN_STAGING"].startswith("arn:aws:iam::111111111111:")
    assert wiring.variables_for("production")["AWS_DEPLOY_ROLE_ARN"].startswith(
        "arn:aws:iam::222222222222:"
    )


@pytest.mark.parametrize(
    ("outputs", "reviewers", "message"),
    [
        ([OUTPUTS], [], "need required reviewers"),
        ([OUTPUTS, OUTPUTS], ["user:a"], "2 bootstraps hold the image repository"),
        ([{**OUTPUTS, "image_push_role_arn": None}], ["user:a"], "0 bootstraps hold"),
        ([], ["user:a"], "no bootstrap outputs"),
    ],
)
def test_inconsistent_inputs_are_refused_with_what_to_do(outputs, reviewers, message):
    with pytest.raises(DeployError, match=message):
        build_wiring("acme/shop", outputs, reviewers=reviewers)


def test_every_third_party_action_is_within_the_allowed_patterns():
    owners = set()
    for path in [
        *WORKFLOWS.glob("*.yml"),
        *(REPO_ROOT / ".github" / "actions").glob("*/action.yml"),
    ]:
        for line in path.read_text().splitlines():
            line = line.strip().removeprefix("- ")
            if line.startswith("uses:") and "$/" not in line:
                owners.add(line.split()[1].split("/")[0])
    allowed = {p.removesuffix("/*") for p in ALLOWED_ACTION_PATTERNS} | {"actions"}
    assert owners <= allowed, owners - allowed


class StandInGitHub:
    """Enough of GitHub's REST API to apply the wiring: records state and every write."""

    def __init__(self) -> None:
        self.variables: dict[str, str] = {}
        self.environments: dict[str, dict] = {}
        self.rulesets: list[dict] = []
        self.writes: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        body: Any = json.loads(request.content) if request.content else None
        assert request.headers["Authorization"] == "Bearer t0ken"
        if method != "GET":
            self.writes.append(f"{method} {path}")
        if path == "/users/alice":
            return httpx.Response(200, json={"id": 4242, "login": "alice"})
        if path.endswith("/variables") and method == "POST":
            scope = (
                path.split("/environments/")[1].split("/")[0] if "/environments/" in path else ""
            )
            key = f"{scope}:{body['name']}"
            if key in self.variables:
                return httpx.Response(409, json={"message": "Already exists"})
            self.variables[key] = body["value"]
            return httpx.Response(201)
        if "/variables/" in path:
            scope = (
                path.split("/environments/")[1].split("/")[0] if "/environments/" in path else ""
            )
            key = f"{scope}:{path.rsplit('/', 1)[1]}"
            if method == "GET":
                return httpx.Response(200 if key in self.variables else 404, json={})
            self.variables[key] = body["value"]
            return httpx.Response(204)
        if path.endswith("/deployment-branch-policies"):
            return httpx.Response(200)
        if "/environments/" in path and method == "PUT":
            self.environments[path.rsplit("/", 1)[1]] = body
            return httpx.Response(200)
        if path.endswith("/rulesets"):
            if method == "GET":
                return httpx.Response(200, json=self.rulesets)
            self.rulesets.append({**body, "id": 7})
            return httpx.Response(201, json={"id": 7})
        if path.endswith("/rulesets/7") and method == "PUT":
            self.rulesets[0] = {**body, "id": 7}
            return httpx.Response(200)
        if "/actions/permissions" in path:
            return httpx.Response(204)
        return httpx.Response(404, json={"message": f"stand-in has no {method} {path}"})


def test_applying_twice_creates_then_updates_without_duplicates():
    github = StandInGitHub()
    wiring = build_wiring("acme/shop", [OUTPUTS], reviewers=["alice"])
    with httpx.Client(
        base_url="https://api.github.test",
        transport=httpx.MockTransport(github),
        headers={"Authorization": "Bearer t0ken"},
    ) as client:
        first = apply(wiring, client, echo=lambda line: None)
        second = apply(wiring, client, echo=lambda line: None)
    assert first == second == len(dry_run(wiring, echo=lambda line: None)) - 1  # minus the GET
    assert github.variables["production:AWS_DEPLOY_ROLE_ARN"].endswith("deploy-production")
    assert github.variables[":PULUMI_BACKEND_URL_PROD"] == "s3://acme-state?region=eu-west-1"
    assert github.environments["production"]["reviewers"] == [{"type": "User", "id": 4242}]
    assert "reviewers" not in github.environments["staging"]
    (ruleset,) = github.rulesets  # the second run updated it in place
    assert ruleset["name"] == RULESET_NAME
    checks = next(r for r in ruleset["rules"] if r["type"] == "required_status_checks")
    assert [c["context"] for c in checks["parameters"]["required_status_checks"]] == list(
        REQUIRED_CHECKS
    )
    assert any(w.startswith("PATCH ") for w in github.writes)  # variables updated, not re-created


def test_without_a_token_it_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    from scripts.github_setup.__main__ import main

    outputs = tmp_path / "bootstrap.json"
    outputs.write_text(json.dumps(OUTPUTS))
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    args = ["--repo", "acme/shop", "--bootstrap-outputs", str(outputs), "--reviewer", "alice"]
    assert main(args) == 1
    assert "GITHUB_TOKEN" in capsys.readouterr().out
    assert main(["--repo", "not a repo", "--dry-run"]) == 1
