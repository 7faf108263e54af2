"""The wiring as GitHub REST API calls: read the repository, plan every write, then print them
(--dry-run) or send them.

Order matters for "never half-way": everything that can refuse (the repository's kind and plan,
its OIDC subject template, reviewer names) is read and decided before the first write; then
every planned write is sent, and one that fails is reported and the rest still sent.

Calls follow GitHub's REST description (tests/delivery/data/github/openapi_operations.json,
trimmed from `@octokit/openapi`; every body sent in the tests is validated against it):
environments (`PUT .../environments/{name}`), deployment branch policies (a duplicate answers
303), Actions variables (POST, or PATCH when it exists), labels, two rulesets (the branch rules,
and the merge queue on its own so a plan without one still gets the rest) and the Actions
permissions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from scripts.deploy.destructive_gate import approval_label
from scripts.deploy.errors import DeployError
from scripts.github_setup.repository import ALL_FEATURES, Features, Repository
from scripts.github_setup.wiring import ALLOWED_ACTION_PATTERNS, MAIN_BRANCH, Wiring

DEFAULT_API = "https://api.github.com"
RULESET_NAME = "main: reviewed, checked"
MERGE_QUEUE_RULESET_NAME = "main: merge queue"
# The GitHub Actions app: a required check only it may satisfy (a token with statuses:write
# cannot post a green `previews` of its own).
GITHUB_ACTIONS_APP_ID = 15368
LABEL_COLOR = "b60205"


def api_url() -> str:
    """GitHub's own variable (set on runners, and on GitHub Enterprise Server), else github.com."""
    return os.environ.get("GITHUB_API_URL") or DEFAULT_API


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None
    # A variable is created (POST) or, when it exists, updated (PATCH at this path).
    update_path: str | None = None
    # A label (or anything else) that may exist already: GET this first, write only on 404.
    exists_path: str | None = None

    def describe(self) -> str:
        line = f"{self.method} {self.path}"
        if self.update_path:
            line += f"   (PATCH {self.update_path} if it exists)"
        if self.exists_path:
            line += "   (unless it exists)"
        if self.body is not None:
            line += "\n    " + json.dumps(self.body, sort_keys=True)
        return line


@dataclass(frozen=True)
class Gap:
    """A protection this repository's plan cannot hold, and what stands in for it."""

    missing: str
    instead: str
    loud: bool = False  # a risk the maintainer must decide on, not only a weaker default


@dataclass
class Plan:
    calls: list[Call] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # parts not wired, and why

    def report(self) -> list[str]:
        lines = []
        for gap in self.gaps:
            mark = "!! " if gap.loud else ""
            lines.append(f"{mark}missing: {gap.missing}\n   instead: {gap.instead}")
        lines += [f"!! NOT WIRED: {reason}" for reason in self.refused]
        return lines


def _reviewer(spec: str) -> tuple[str, str]:
    kind, _, name = spec.partition(":") if ":" in spec else ("user", "", spec)
    if kind not in ("user", "team") or not name or (kind == "team" and "/" not in name):
        raise DeployError(f"reviewer {spec!r}: use user:LOGIN or team:ORG/SLUG")
    return kind, name


def plan_calls(wiring: Wiring, features: Features, reviewer_ids: Mapping[str, int | str]) -> Plan:
    plan = Plan()
    repo = f"/repos/{wiring.repository}"
    plan.calls += _actions_settings(repo)
    plan.calls += [
        Call(
            "POST",
            f"{repo}/labels",
            {
                "name": approval_label(stack),
                "color": LABEL_COLOR,
                "description": f"approves replacing or deleting stateful resources of {stack}",
            },
            exists_path=f"{repo}/labels/{quote(approval_label(stack), safe='')}",
        )
        for stack in wiring.stacks
    ]
    for name, value in wiring.variables.items():
        plan.calls.append(_variable(f"{repo}/actions/variables", name, value))
    if features.environments:
        for env in wiring.environments:
            plan.calls += _environment(repo, env, features, reviewer_ids, plan)
    else:
        names = ", ".join(e.name for e in wiring.environments)
        plan.refused.append(
            f"the environments {names}: this repository has no environments (a private "
            "repository on GitHub Free), so nothing would keep a workflow pushed to any branch "
            "from naming `environment: production`, and the deploy roles trust exactly that "
            "environment's subject; its variables (the deploy roles) would have nowhere to live "
            "either. Make the repository public, or move its owner to GitHub Pro, Team or "
            "Enterprise, and run this again"
        )
    if features.rulesets:
        plan.calls.append(Call("POST", f"{repo}/rulesets", ruleset(wiring, features)))
        if features.merge_queue:
            plan.calls.append(Call("POST", f"{repo}/rulesets", merge_queue_ruleset()))
        else:
            plan.gaps.append(
                Gap(
                    "a merge queue (organisation-owned public repositories, or private ones on "
                    "Enterprise Cloud)",
                    "pull requests must be up to date with main before merging (strict required "
                    "checks), so the checks ran on what main becomes; prod is previewed only in "
                    "the merge queue, so its first plan is the one the deploy makes, before the "
                    "approval",
                )
            )
    else:
        plan.gaps.append(
            Gap(
                "rulesets on main (private repositories need GitHub Pro, Team or Enterprise): no "
                "review, no required checks, and no approval of the last push",
                "nothing: every push to main deploys staging, and whoever can push to main gets "
                "the plan role, which can decrypt production's secrets. Keep write access to "
                "people you would let read production's secrets, or make the repository public "
                "or move it to a paid plan",
                loud=True,
            )
        )
    return plan


def _actions_settings(repo: str) -> list[Call]:
    return [
        Call(
            "PUT",
            f"{repo}/actions/permissions/workflow",
            {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": False},
        ),
        Call(
            "PUT", f"{repo}/actions/permissions", {"enabled": True, "allowed_actions": "selected"}
        ),
        Call(
            "PUT",
            f"{repo}/actions/permissions/selected-actions",
            {
                "github_owned_allowed": True,
                "verified_allowed": False,
                "patterns_allowed": list(ALLOWED_ACTION_PATTERNS),
            },
        ),
    ]


def _variable(collection: str, name: str, value: str) -> Call:
    return Call(
        "POST", collection, {"name": name, "value": value}, update_path=f"{collection}/{name}"
    )


def _environment(
    repo: str,
    env: Any,
    features: Features,
    reviewer_ids: Mapping[str, int | str],
    plan: Plan,
) -> Iterator[Call]:
    path = f"{repo}/environments/{quote(env.name, safe='')}"
    body: dict[str, Any] = {
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True}
    }
    if env.approval and features.environment_reviewers:
        reviewers = [
            {"type": "User" if _reviewer(r)[0] == "user" else "Team", "id": reviewer_ids[r]}
            for r in env.reviewers
        ]
        body.update(reviewers=reviewers, prevent_self_review=True)
    elif env.approval:
        plan.gaps.append(
            Gap(
                f"required reviewers on {env.name} (private repositories need GitHub Enterprise)",
                f"{env.name} still deploys only from {MAIN_BRANCH} through its environment, but "
                "nobody has to approve: every merge to main goes on to it",
                loud=True,
            )
        )
    yield Call("PUT", path, body)
    for branch in env.branches:
        yield Call("POST", f"{path}/deployment-branch-policies", {"name": branch, "type": "branch"})
    for name, value in env.variables.items():
        yield _variable(f"{path}/variables", name, value)


def _main_branch_ruleset(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """An active ruleset named `name` on the main branch."""
    return {
        "name": name,
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": [f"refs/heads/{MAIN_BRANCH}"], "exclude": []}},
        "rules": rules,
    }


def ruleset(wiring: Wiring, features: Features) -> dict[str, Any]:
    return _main_branch_ruleset(
        RULESET_NAME,
        [
            {"type": "deletion"},
            {"type": "non_fast_forward"},
            {
                "type": "pull_request",
                "parameters": {
                    "required_approving_review_count": 1,
                    "dismiss_stale_reviews_on_push": True,
                    "require_code_owner_review": False,
                    # The plan role (merge queue, main) decrypts every stack's secrets: the last
                    # push must be someone else's approval, not the pusher's own.
                    "require_last_push_approval": True,
                    "required_review_thread_resolution": False,
                },
            },
            {
                "type": "required_status_checks",
                "parameters": {
                    # Without a queue, "up to date before merging" is what checks the result.
                    "strict_required_status_checks_policy": not features.merge_queue,
                    "required_status_checks": [
                        {"context": check, "integration_id": GITHUB_ACTIONS_APP_ID}
                        for check in wiring.required_checks
                    ],
                },
            },
        ],
    )


def merge_queue_ruleset() -> dict[str, Any]:
    return _main_branch_ruleset(
        MERGE_QUEUE_RULESET_NAME,
        [
            {
                "type": "merge_queue",
                "parameters": {
                    # >= the checks' worst path + runner pickup (test_workflow_structure.py)
                    "check_response_timeout_minutes": 90,
                    "grouping_strategy": "ALLGREEN",
                    "max_entries_to_build": 5,
                    "max_entries_to_merge": 5,
                    "merge_method": "SQUASH",
                    "min_entries_to_merge": 1,
                    "min_entries_to_merge_wait_minutes": 5,
                },
            }
        ],
    )


def reviewer_lookups(wiring: Wiring) -> list[tuple[str, Call]]:
    """The GET calls that turn reviewer names into the ids environments want."""
    lookups = []
    for spec in sorted({r for env in wiring.environments for r in env.reviewers}):
        kind, name = _reviewer(spec)
        if kind == "user":
            lookups.append((spec, Call("GET", f"/users/{name}")))
        else:
            org, _, slug = name.partition("/")
            lookups.append((spec, Call("GET", f"/orgs/{org}/teams/{slug}")))
    return lookups


def dry_run(
    wiring: Wiring,
    repository: Repository | None = None,
    echo: Callable[[str], None] = print,
) -> list[Call]:
    if repository is None:
        echo("-- the repository was not read (no GITHUB_TOKEN): showing every feature's calls")
    features = repository.features if repository else ALL_FEATURES
    calls: list[Call] = []
    ids: dict[str, int | str] = {}
    for spec, lookup in reviewer_lookups(wiring):
        echo(lookup.describe())
        calls.append(lookup)
        ids[spec] = f"<id of {spec}>"
    plan = plan_calls(wiring, features, ids)
    for call in plan.calls:
        echo(call.describe())
        calls.append(call)
    for line in plan.report():
        echo(line)
    echo(f"-- dry run: {len(calls)} calls printed, none sent")
    return calls


# --- sending -------------------------------------------------------------------------------------


class GitHub:
    """Requests to GitHub's REST API; a failed answer becomes a DeployError naming the call."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, path: str, **params: Any) -> Mapping[str, Any] | None:
        """The JSON answer, or None for 404."""
        response = self.client.get(path, params=params or None)
        if response.status_code == 404:
            return None
        _raise_for(response, "GET", path)
        answer: Mapping[str, Any] = response.json()
        return answer

    def get_all(self, path: str, **params: Any) -> list[Mapping[str, Any]]:
        """Every page of a list (per_page 100, following GitHub's `page` numbering)."""
        found: list[Mapping[str, Any]] = []
        page = 1
        while True:
            response = self.client.get(path, params={**params, "per_page": 100, "page": page})
            _raise_for(response, "GET", path)
            batch = response.json()
            found += batch
            link = response.headers.get("link")
            if len(batch) < 100 or (link is not None and 'rel="next"' not in link):
                return found
            page += 1

    def send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> httpx.Response:
        response = self.client.request(method, path, json=body)
        _raise_for(response, method, path)
        return response


def _raise_for(response: httpx.Response, method: str, path: str) -> None:
    if response.status_code < 300:
        return
    try:
        answer = response.json()
    except ValueError:
        answer = {"message": response.text[:300]}
    message = str(answer.get("message", ""))
    # A 422 carries what was invalid in `errors`: show it, it is the user's fix.
    details = "; ".join(
        str(e.get("message") or e.get("code") or e) if isinstance(e, Mapping) else str(e)
        for e in answer.get("errors") or []
    )
    hint = {
        401: " (GITHUB_TOKEN is not valid)",
        403: " (the token lacks a permission: `python -m scripts.github_setup --help` lists them)",
        404: " (not found, or the token may not see it)",
    }.get(response.status_code, "")
    raise DeployError(
        f"{method} {path} answered {response.status_code}: {message}"
        + (f" [{details}]" if details else "")
        + hint
    )


@dataclass
class Outcome:
    written: int = 0
    unchanged: int = 0  # already there (a label, a deployment branch policy)
    failed: list[str] = field(default_factory=list)


def apply(plan: Plan, github: GitHub, echo: Callable[[str], None] = print) -> Outcome:
    """Send every planned write; one that fails is reported and the others still sent."""
    outcome = Outcome()
    for call in plan.calls:
        try:
            changed = _send(call, github)
        except DeployError as failure:
            echo(f"FAILED {call.method} {call.path}: {failure}")
            outcome.failed.append(str(failure))
            continue
        echo(f"{call.method} {call.path}" + ("" if changed else "   (already there)"))
        if changed:
            outcome.written += 1
        else:
            outcome.unchanged += 1
    return outcome


def _send(call: Call, github: GitHub) -> bool:
    """Send one planned call; False when what it would create is there already."""
    if call.exists_path and github.get(call.exists_path) is not None:
        return False
    if call.update_path:
        assert call.body is not None
        if github.get(call.update_path) is not None:
            github.send("PATCH", call.update_path, call.body)
            return True
    if call.path.endswith("/rulesets"):
        assert call.body is not None
        # Only this repository's own rulesets: an organisation's (includes_parents) cannot be
        # updated here and may share a name.
        existing = [
            r
            for r in github.get_all(call.path, includes_parents="false")
            if r.get("name") == call.body["name"]
        ]
        if existing:
            github.send("PUT", f"{call.path}/{existing[0]['id']}", call.body)
            return True
    if call.path.endswith("/deployment-branch-policies"):
        response = github.client.request(call.method, call.path, json=call.body)
        if response.status_code == 303:  # "the same branch name pattern already exists"
            return False
        _raise_for(response, call.method, call.path)
        return True
    github.send(call.method, call.path, call.body)
    return True
