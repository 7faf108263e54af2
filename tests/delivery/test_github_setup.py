"""scripts.github_setup against a stand-in GitHub API (an http.server on 127.0.0.1, reached through
GITHUB_API_URL) serving recorded answers for four kinds of repository, and enforcing what each
plan refuses.

Every request body the set-up sends is validated against GitHub's published REST description of
that operation: tests/delivery/data/github/openapi_operations.json, trimmed from the npm package
`@octokit/openapi` 23.0.2 (`generated/api.github.com.json`) by trim_openapi.py beside it; object
schemas are made strict (no property the description does not name), so a misspelt key fails.
The recorded answers are checked against the same description (their `required` lists dropped:
they are trimmed to the fields the set-up reads).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jsonschema  # type: ignore[import-untyped]  # no stubs in the pinned set
import pytest
from referencing import Registry, Resource

from scripts.deploy.destructive_gate import approval_label
from scripts.deploy.errors import DeployError
from scripts.github_setup.__main__ import main
from scripts.github_setup.github_api import (
    GITHUB_ACTIONS_APP_ID,
    MERGE_QUEUE_RULESET_NAME,
    RULESET_NAME,
)
from scripts.github_setup.repository import Repository, subject_problem
from scripts.github_setup.wiring import ALLOWED_ACTION_PATTERNS, REQUIRED_CHECKS, build_wiring
from tests.delivery.support import REPO_ROOT, WORKFLOWS

DATA = Path(__file__).parent / "data" / "github"
DESCRIPTION = json.loads((DATA / "openapi_operations.json").read_text())
KINDS = sorted(p.stem for p in (DATA / "repositories").glob("*.json"))
SOURCE = "@octokit/openapi@23.0.2"

OUTPUTS: dict[str, Any] = {
    "region": "eu-west-1",
    "state_backend_url": "s3://acme-state?region=eu-west-1",
    "preview_role_arn": "arn:aws:iam::111111111111:role/shipyard-ci-preview",
    "plan_role_arn": "arn:aws:iam::111111111111:role/shipyard-ci-plan",
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


# --- GitHub's description ------------------------------------------------------------------------


def _strict(node: Any) -> Any:
    """Every object schema that names its properties refuses others (a typo is an error)."""
    if isinstance(node, dict):
        node = {k: _strict(v) for k, v in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


def _lenient(node: Any) -> Any:
    """For trimmed recorded answers: the types of what is there, not the fields left out (so a
    `oneOf` whose branches differ only in required fields becomes an `anyOf`)."""
    if isinstance(node, dict):
        renamed = {("anyOf" if k == "oneOf" else k): v for k, v in node.items()}
        return {k: _lenient(v) for k, v in renamed.items() if k != "required"}
    if isinstance(node, list):
        return [_lenient(v) for v in node]
    return node


_REQUESTS = Registry().with_resource("urn:requests", Resource.opaque(_strict(DESCRIPTION)))
_ANSWERS = Registry().with_resource("urn:answers", Resource.opaque(_lenient(DESCRIPTION)))


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The description's path template and operation that `method path` is an instance of."""
    for template, operations in DESCRIPTION["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return template, operations[method.lower()]
    raise AssertionError(f"{method} {path} is no operation of the trimmed description ({SOURCE})")


def body_problems(method: str, path: str, body: Any) -> list[str]:
    template, op = operation(method, path)
    if "requestBody" not in op:
        return [] if body is None else [f"{method} {template} takes no body"]
    ref = "urn:requests#/" + _pointer(
        "paths", template, method.lower(), "requestBody", "content", "application/json", "schema"
    )
    validator = jsonschema.Draft202012Validator({"$ref": ref}, registry=_REQUESTS)
    return [f"{method} {template}: {e.message} at {list(e.absolute_path)}" for e in
            validator.iter_errors(body)]  # fmt: skip


def answer_problems(method: str, path: str, answer: Any) -> list[str]:
    template, _ = operation(method, path)
    ref = "urn:answers#/" + _pointer(
        "paths", template, method.lower(), "responses", "200", "content", "application/json",
        "schema",
    )  # fmt: skip
    validator = jsonschema.Draft202012Validator({"$ref": ref}, registry=_ANSWERS)
    return [f"{template}: {e.message} at {list(e.absolute_path)}" for e in
            validator.iter_errors(answer)]  # fmt: skip


def test_the_trimmed_description_names_its_source_and_version():
    assert SOURCE.split("@")[-1] == DESCRIPTION["info"]["version"] == "23.0.2"
    assert "@octokit/openapi@23.0.2" in DESCRIPTION["x-source"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_recorded_answers_follow_githubs_description(kind):
    recorded = json.loads((DATA / "repositories" / f"{kind}.json").read_text())
    for request, answer in recorded["answers"].items():
        method, path = request.split(" ", 1)
        assert answer_problems(method, path, answer) == [], request


def test_control_a_misspelt_key_or_a_wrong_type_fails_the_description():
    good = {"context": "previews", "integration_id": GITHUB_ACTIONS_APP_ID}
    parameters = {"strict_required_status_checks_policy": True, "required_status_checks": [good]}
    rule = {"type": "required_status_checks", "parameters": parameters}
    body: dict[str, Any] = {"name": "x", "enforcement": "active", "rules": [rule]}
    assert body_problems("POST", "/repos/o/r/rulesets", body) == []
    for broken in ({**good, "integration_id": "15368"}, {**good, "integrationId": 15368}):
        bad = copy.deepcopy(body)
        bad["rules"][0]["parameters"]["required_status_checks"] = [broken]
        assert body_problems("POST", "/repos/o/r/rulesets", bad), broken
    assert body_problems(
        "PUT", "/repos/o/r/environments/production", {"reviewers": [{"type": "user", "id": 1}]}
    )  # GitHub's enum is User or Team
    assert answer_problems("GET", "/repos/o/r", {"private": "no"})


# --- the stand-in --------------------------------------------------------------------------------


@dataclass
class Sent:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class StandIn:
    """Recorded answers for reads; state for writes; refuses what the repository's plan lacks."""

    answers: dict[str, Any]
    features: dict[str, bool]
    recorded: dict[str, Any]  # the whole recorded file: repository, answers, expectations
    sent: list[Sent] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    environments: dict[str, Any] = field(default_factory=dict)
    branch_policies: set[tuple[str, str]] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    rulesets: dict[int, dict[str, Any]] = field(default_factory=dict)
    fail: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # "METHOD path"

    def writes(self) -> list[Sent]:
        return [s for s in self.sent if s.method != "GET"]

    def answer(self, sent: Sent) -> tuple[int, Any]:
        method, path, body = sent.method, sent.path, sent.body
        key = f"{method} {path}"
        if key in self.fail:
            return self.fail[key]
        if method == "GET" and key in self.answers:
            return 200, self.answers[key]
        upgrade = {"message": "Upgrade to GitHub Pro or make this repository public to enable "
                   "this feature."}  # fmt: skip
        if "/environments/" in path and not self.features["environments"]:
            return 404, {"message": "Not Found"}
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+(?:/environments/([^/]+))?/(?:actions/)?variables"
                             r"(?:/([^/]+))?", path):  # fmt: skip
            scope = unquote(m[1] or "")
            name = m[2] or (body or {}).get("name")
            slot = f"{scope}:{name}"
            if method == "POST":
                if slot in self.variables:
                    return 409, {"message": "Already exists"}
                self.variables[slot] = body["value"]
                return 201, {}
            if method == "GET":
                return (200, {"name": name, "value": self.variables[slot]}) if (
                    slot in self.variables) else (404, {"message": "Not Found"})  # fmt: skip
            self.variables[slot] = body["value"]
            return 204, None
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/environments/([^/]+)/deployment-branch-policies",
                             path):  # fmt: skip
            policy = (unquote(m[1]), body["name"])
            if policy in self.branch_policies:
                return 303, None  # GitHub: "the same branch name pattern already exists"
            self.branch_policies.add(policy)
            return 200, {"id": len(self.branch_policies), **body}
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/environments/([^/]+)", path):
            if body.get("reviewers") and not self.features["environment_reviewers"]:
                return 422, {"message": "Validation Failed", "errors": [
                    "Required reviewers are not available for this repository"]}  # fmt: skip
            self.environments[unquote(m[1])] = body
            return 200, {"name": unquote(m[1])}
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/labels(?:/([^/]+))?", path):
            if method == "GET":
                name = unquote(m[1])
                return (200, {"name": name}) if name in self.labels else (404, {"message": "x"})
            if body["name"] in self.labels:
                return 422, {"message": "Validation Failed", "errors": [
                    {"resource": "Label", "code": "already_exists", "field": "name"}]}  # fmt: skip
            self.labels.add(body["name"])
            return 201, body
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/rulesets(?:/(\d+))?", path):
            if not self.features["rulesets"]:
                return 403, upgrade
            if method == "GET":
                return 200, self._ruleset_page(sent.query)
            if (
                any(r["type"] == "merge_queue" for r in body.get("rules", []))
                and not (self.features["merge_queue"])
            ):
                return 422, {"message": "Validation Failed", "errors": [
                    "Invalid rule 'merge_queue': merge queue is not available"]}  # fmt: skip
            ruleset_id = int(m[1]) if m[1] else 1000 + len(self.rulesets)
            self.rulesets[ruleset_id] = {**body, "id": ruleset_id, "source_type": "Repository"}
            return (200 if m[1] else 201), self.rulesets[ruleset_id]
        if "/actions/permissions" in path and method == "PUT":
            return 204, None
        return 404, {"message": f"the stand-in has no {method} {path}"}

    def _ruleset_page(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        listed = [
            {"id": i, "name": r["name"], "source_type": "Repository"}
            for i, r in sorted(self.rulesets.items())
        ]
        # 120 other rulesets put ours on page 2; the organisation's namesake shows only when
        # parents are included (GitHub's default).
        listed = [{"id": n, "name": f"other {n}", "source_type": "Repository"} for n in range(120)
                  ] + listed  # fmt: skip
        if query.get("includes_parents", ["true"])[0] != "false":
            listed.insert(0, {"id": 1, "name": RULESET_NAME, "source_type": "Organization"})
        size = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        return listed[(page - 1) * size : page * size]


@pytest.fixture
def github(request, monkeypatch) -> Iterator[StandIn]:
    recorded = json.loads((DATA / "repositories" / f"{request.param}.json").read_text())
    stand_in = StandIn(answers=recorded["answers"], features=recorded["expect"], recorded=recorded)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            assert self.headers["Authorization"] == "Bearer t0ken"
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            sent = Sent(self.command, url.path, parse_qs(url.query),
                        json.loads(raw) if raw else None)  # fmt: skip
            stand_in.sent.append(sent)
            status, answer = stand_in.answer(sent)
            data = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(status)
            if status == 303:
                self.send_header("Location", f"http://127.0.0.1{url.path}/1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        # http.server's dispatch names (do_<METHOD>)
        do_GET = do_POST = do_PUT = do_PATCH = _serve  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


def _outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(OUTPUTS))
    return path


def run_setup(github: StandIn, tmp_path: Path, capsys, *extra: str) -> tuple[int, str]:
    repository = github.recorded["repository"]
    args = ["--repo", repository, "--bootstrap-outputs", str(_outputs_file(tmp_path)), *extra]
    code = main([*args, "--reviewer", "user:release-manager"])
    return code, capsys.readouterr().out


def _every_body_is_valid(github: StandIn) -> None:
    problems = [p for s in github.writes() for p in body_problems(s.method, s.path, s.body)]
    assert problems == []
    for sent in github.sent:  # every call is an operation of the description (reads too)
        operation(sent.method, sent.path)


# --- the four kinds, and a template we cannot trust ----------------------------------------------


@pytest.mark.parametrize("github", KINDS, indirect=True)
def test_repo_alone_prints_the_plan_features_and_the_prefix_for_the_bootstrap(github, capsys):
    expect = github.recorded["expect"]
    code = main(["--repo", github.recorded["repository"]])
    out = capsys.readouterr().out
    assert github.writes() == []
    if expect["sub_claim_prefix"]:
        assert code == 0, out
        assert f"shipyard-bootstrap:github_sub_claim_prefix: {expect['sub_claim_prefix']}" in out
    else:
        assert code == 1
        assert "OIDC subject: UNSUPPORTED" in out
        assert "use_default" in out
    for feature in ("rulesets", "merge queue"):
        present = expect[feature.replace(" ", "_")]
        assert f"  {feature}: {'yes' if present else 'no'}" in out


@pytest.mark.parametrize("github", ["org-public-queue"], indirect=True)
def test_org_public_with_a_queue_gets_every_protection_and_a_queue_of_its_own(
    github, tmp_path, capsys
):
    code, out = run_setup(github, tmp_path, capsys)
    assert code == 0, out
    _every_body_is_valid(github)
    assert github.environments["production"]["reviewers"] == [{"type": "User", "id": 4242}]
    assert github.environments["production"]["prevent_self_review"] is True
    assert "reviewers" not in github.environments["staging"]
    rulesets = {r["name"]: r for r in github.rulesets.values()}
    assert set(rulesets) == {RULESET_NAME, MERGE_QUEUE_RULESET_NAME}
    assert [r["type"] for r in rulesets[MERGE_QUEUE_RULESET_NAME]["rules"]] == ["merge_queue"]
    rules = {r["type"]: r for r in rulesets[RULESET_NAME]["rules"]}
    assert rules["pull_request"]["parameters"]["require_last_push_approval"] is True
    checks = rules["required_status_checks"]["parameters"]
    assert checks["required_status_checks"] == [
        {"context": c, "integration_id": 15368} for c in REQUIRED_CHECKS
    ]
    assert checks["strict_required_status_checks_policy"] is False  # the queue checks the result
    assert github.labels == {approval_label("staging"), approval_label("prod")}
    assert github.variables[":AWS_PLAN_ROLE_ARN_PROD"].endswith("shipyard-ci-plan")
    assert github.variables["production:AWS_DEPLOY_ROLE_ARN"].endswith("deploy-production")
    assert "missing:" not in out
    assert "NOT WIRED" not in out


@pytest.mark.parametrize("github", ["user-public"], indirect=True)
def test_user_public_gets_reviews_and_up_to_date_branches_instead_of_a_queue(
    github, tmp_path, capsys
):
    code, out = run_setup(github, tmp_path, capsys)
    assert code == 0, out
    _every_body_is_valid(github)
    (ruleset,) = github.rulesets.values()
    assert ruleset["name"] == RULESET_NAME
    rules = {r["type"]: r for r in ruleset["rules"]}
    assert rules["required_status_checks"]["parameters"]["strict_required_status_checks_policy"]
    assert "missing: a merge queue" in out
    assert "up to date with main" in out
    assert github.environments["production"]["reviewers"] == [{"type": "User", "id": 4242}]


@pytest.mark.parametrize("github", ["org-private-team"], indirect=True)
def test_org_private_on_team_deploys_from_main_without_an_approval_and_says_so(
    github, tmp_path, capsys
):
    code, out = run_setup(github, tmp_path, capsys)
    assert code == 0, out
    _every_body_is_valid(github)
    production = github.environments["production"]
    assert "reviewers" not in production  # GitHub would refuse them on Team (the stand-in does)
    assert production["deployment_branch_policy"]["custom_branch_policies"] is True
    assert ("production", "main") in github.branch_policies
    assert "!! missing: required reviewers on production" in out
    assert "nobody has to approve" in out
    assert "missing: a merge queue" in out
    assert {r["name"] for r in github.rulesets.values()} == {RULESET_NAME}


@pytest.mark.parametrize("github", ["user-private-free"], indirect=True)
def test_user_private_on_free_refuses_the_environments_writes_the_rest_and_fails_loudly(
    github, tmp_path, capsys
):
    code, out = run_setup(github, tmp_path, capsys)
    assert code == 1
    _every_body_is_valid(github)
    # Nothing the plan refuses was even tried: the decision came before the first write.
    assert not [s for s in github.writes() if "/environments/" in s.path or "rulesets" in s.path]
    assert not re.search(r"^FAILED", out, re.MULTILINE)
    assert "!! NOT WIRED: the environments release, staging, production" in out
    assert "!! missing: rulesets on main" in out
    assert "decrypt production's secrets" in out
    assert github.variables[":AWS_PREVIEW_ROLE_ARN_STAGING"].endswith("shipyard-ci-preview")
    assert github.labels == {approval_label("staging"), approval_label("prod")}
    assert "the wiring is incomplete" in out


@pytest.mark.parametrize("github", ["org-custom-template"], indirect=True)
def test_a_customised_subject_template_is_refused_before_anything_is_written(
    github, tmp_path, capsys
):
    code, out = run_setup(github, tmp_path, capsys)
    assert code == 1
    assert github.writes() == []
    assert "nothing written" in out
    assert "repository_owner" in out


# --- re-runs, failures, and the smaller faults ---------------------------------------------------


@pytest.mark.parametrize("github", ["org-public-queue"], indirect=True)
def test_a_second_run_updates_in_place_and_treats_303_as_already_there(github, tmp_path, capsys):
    assert run_setup(github, tmp_path, capsys)[0] == 0
    before = dict(github.rulesets)
    code, out = run_setup(github, tmp_path, capsys)
    assert code == 0, out
    assert github.rulesets.keys() == before.keys()  # updated, not duplicated
    puts = [s for s in github.writes() if re.search(r"/rulesets/\d+$", s.path)]
    assert {s.path.rsplit("/", 1)[1] for s in puts} == {str(i) for i in before}
    assert "1 " not in {s.path.rsplit("/", 1)[1] + " " for s in puts}  # not the org's namesake
    lookups = [s for s in github.sent if s.method == "GET" and s.path.endswith("/rulesets")]
    assert all(s.query["includes_parents"] == ["false"] for s in lookups)
    assert {s.query["page"][0] for s in lookups} == {"1", "2"}  # ours are on page 2
    assert "deployment-branch-policies   (already there)" in out
    assert "labels   (already there)" in out
    assert any(s.method == "PATCH" for s in github.writes())  # variables updated, not re-created


@pytest.mark.parametrize("github", ["org-public-queue"], indirect=True)
def test_a_failing_write_is_reported_with_githubs_reasons_and_the_rest_still_sent(
    github, tmp_path, capsys
):
    repo = "/repos/shipyard-org/shipyard"
    github.fail[f"PUT {repo}/actions/permissions"] = (
        422, {"message": "Validation Failed", "errors": [{"code": "invalid", "field": "x",
              "message": "allowed_actions cannot be set by an organisation policy"}]},
    )  # fmt: skip
    code, out = run_setup(github, tmp_path, capsys)
    assert code == 1
    assert "FAILED PUT /repos/shipyard-org/shipyard/actions/permissions" in out
    assert "answered 422: Validation Failed [allowed_actions cannot be set" in out
    # every later write was still sent
    assert {r["name"] for r in github.rulesets.values()} == {RULESET_NAME, MERGE_QUEUE_RULESET_NAME}
    assert "production" in github.environments
    assert "1 failed" in out


@pytest.mark.parametrize("github", ["org-public-queue"], indirect=True)
def test_an_unknown_reviewer_stops_before_the_first_write(github, tmp_path, capsys):
    repository = github.recorded["repository"]
    outputs = str(_outputs_file(tmp_path))
    code = main(["--repo", repository, "--bootstrap-outputs", outputs, "--reviewer", "nobody"])
    assert code == 1
    assert "reviewer nobody does not exist" in capsys.readouterr().out
    assert github.writes() == []


# --- offline -------------------------------------------------------------------------------------


def test_the_documented_dry_run_prints_the_full_wiring_for_a_sample_repository():
    env = {"PATH": "/usr/bin:/bin"}  # no GITHUB_TOKEN: every feature's calls, placeholders
    result = subprocess.run(
        [sys.executable, "-m", "scripts.github_setup", "--repo", "acme/shop", "--dry-run"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False, env=env,
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
        '"name": "AWS_PLAN_ROLE_ARN_PROD"',
        '"name": "PULUMI_BACKEND_URL_STAGING"',
        "POST /repos/acme/shop/rulesets",
        '"context": "previews", "integration_id": 15368',
        '"name": "allow-destructive:prod"',
        "PUT /repos/acme/shop/actions/permissions/workflow",
        "none sent",
    ):
        assert expected in out, expected
    assert "PULUMI_ACCESS_TOKEN" not in out  # nothing long-lived is wired


def test_help_names_every_token_permission_the_calls_need():
    result = subprocess.run(
        [sys.executable, "-m", "scripts.github_setup", "--help"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0
    for permission in ("Administration: read and write", "Environments: read and write",
                       "Variables: read and write", "Actions: read", "Issues: read and write",
                       "Contents, Metadata: read", "Members: read", "GITHUB_API_URL"):  # fmt: skip
        assert permission in result.stdout, permission


def test_the_wiring_follows_two_accounts():
    staging = {**OUTPUTS, "deploy_targets": {"staging": OUTPUTS["deploy_targets"]["staging"]}}
    prod = {
        **OUTPUTS,
        "image_push_role_arn": None,
        "preview_role_arn": "arn:aws:iam::222222222222:role/shipyard-ci-preview",
        "plan_role_arn": "arn:aws:iam::222222222222:role/shipyard-ci-plan",
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
    assert wiring.variables["AWS_PLAN_ROLE_ARN_PROD"].startswith("arn:aws:iam::222222222222:")
    assert wiring.variables["AWS_PLAN_ROLE_ARN_STAGING"].startswith("arn:aws:iam::111111111111:")
    assert wiring.variables["PULUMI_BACKEND_URL_PROD"] == "s3://acme-prod-state?region=eu-west-1"
    assert wiring.variables_for("production")["AWS_DEPLOY_ROLE_ARN"].startswith(
        "arn:aws:iam::222222222222:"
    )
    assert wiring.stacks == ("staging", "prod")


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


def test_without_a_token_it_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    args = ["--repo", "acme/shop", "--bootstrap-outputs", str(_outputs_file(tmp_path))]
    assert main([*args, "--reviewer", "alice"]) == 1
    assert "GITHUB_TOKEN" in capsys.readouterr().out
    assert main(["--repo", "not a repo", "--dry-run"]) == 1


@pytest.mark.parametrize("github", ["org-private-team"], indirect=True)
def test_a_default_branch_other_than_main_is_reported_loudly(github, tmp_path, capsys):
    github.answers["GET /repos/acme-team/shop"] = {
        **github.answers["GET /repos/acme-team/shop"],
        "default_branch": "master",
    }
    code, out = run_setup(github, tmp_path, capsys)
    assert code == 0, out
    assert "!! missing: protection of the default branch master" in out


# --- the rules, one table (GitHub Docs: "Managing environments for deployment", "About rulesets",
# "About merge queues") ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner_type", "visibility", "plan", "expected"),
    [
        # environments, reviewers on them, rulesets, merge queue
        ("User", "public", "free", (True, True, True, False)),
        ("Organization", "public", "free", (True, True, True, True)),
        ("User", "private", "free", (False, False, False, False)),
        ("User", "private", "pro", (True, False, True, False)),
        ("Organization", "private", "team", (True, False, True, False)),
        ("Organization", "private", "enterprise", (True, True, True, True)),
        ("Organization", "internal", None, (True, True, True, True)),  # only Enterprise has it
        ("Organization", "private", None, (False, False, False, False)),  # unreadable: Free
    ],
)
def test_features_follow_githubs_plan_rules(owner_type, visibility, plan, expected):
    repository = Repository(
        full_name="o/r", owner_type=owner_type, visibility=visibility, plan=plan,
        default_branch="main", sub_claim_prefix="repo:o/r",
    )  # fmt: skip
    features = repository.features
    found = (
        features.environments, features.environment_reviewers, features.rulesets,
        features.merge_queue,
    )  # fmt: skip
    assert found == expected


@pytest.mark.parametrize(
    ("customization", "supported"),
    [
        ({"use_default": True}, True),
        ({"use_default": True, "include_claim_keys": ["repository_owner"]}, True),  # ignored
        ({"use_default": False, "include_claim_keys": ["repo", "context"]}, True),
        # GitHub Docs' examples of customised templates ("Customizing the subject claims")
        (
            {"use_default": False, "include_claim_keys": ["repo", "context", "job_workflow_ref"]},
            False,
        ),
        ({"use_default": False, "include_claim_keys": ["repository_owner"]}, False),
        ({"use_default": False, "include_claim_keys": ["repository_id"]}, False),
    ],
)
def test_only_githubs_default_subject_template_is_supported(customization, supported):
    problem = subject_problem(customization)
    assert (problem is None) == supported, problem
    if problem:
        assert "use_default" in problem
