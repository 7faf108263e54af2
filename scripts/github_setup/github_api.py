"""The wiring as GitHub REST API calls: planned first, then printed (--dry-run) or sent.

Calls follow GitHub's REST reference: environments (`PUT .../environments/{name}` with
`reviewers`, `prevent_self_review`, `deployment_branch_policy`), deployment branch policies,
Actions variables (create with POST, or PATCH when it exists), repository rulesets
(`required_status_checks`, `pull_request`, `merge_queue`), and the Actions permissions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from scripts.deploy.errors import DeployError
from scripts.github_setup.wiring import ALLOWED_ACTION_PATTERNS, MAIN_BRANCH, Wiring

API = "https://api.github.com"
RULESET_NAME = "main: reviewed, checked, queued"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None
    # A variable is created (POST) or, when it exists, updated (PATCH at this path).
    update_path: str | None = None

    def describe(self) -> str:
        line = f"{self.method} {self.path}"
        if self.update_path:
            line += f"   (PATCH {self.update_path} if it exists)"
        if self.body is not None:
            line += "\n    " + json.dumps(self.body, sort_keys=True)
        return line


def _reviewer(spec: str) -> tuple[str, str]:
    kind, _, name = spec.partition(":") if ":" in spec else ("user", "", spec)
    if kind not in ("user", "team") or not name or (kind == "team" and "/" not in name):
        raise DeployError(f"reviewer {spec!r}: use user:LOGIN or team:ORG/SLUG")
    return kind, name


def plan_calls(wiring: Wiring, reviewer_ids: dict[str, int | str]) -> Iterator[Call]:
    repo = f"/repos/{wiring.repository}"
    yield Call(
        "PUT",
        f"{repo}/actions/permissions/workflow",
        {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": False},
    )
    yield Call(
        "PUT", f"{repo}/actions/permissions", {"enabled": True, "allowed_actions": "selected"}
    )
    yield Call(
        "PUT",
        f"{repo}/actions/permissions/selected-actions",
        {
            "github_owned_allowed": True,
            "verified_allowed": False,
            "patterns_allowed": list(ALLOWED_ACTION_PATTERNS),
        },
    )
    for env in wiring.environments:
        reviewers = [
            {"type": "User" if _reviewer(r)[0] == "user" else "Team", "id": reviewer_ids[r]}
            for r in env.reviewers
        ]
        body: dict[str, Any] = {
            "deployment_branch_policy": {
                "protected_branches": False,
                "custom_branch_policies": True,
            }
        }
        if reviewers:
            body.update(reviewers=reviewers, prevent_self_review=True)
        yield Call("PUT", f"{repo}/environments/{env.name}", body)
        for branch in env.branches:
            yield Call(
                "POST",
                f"{repo}/environments/{env.name}/deployment-branch-policies",
                {"name": branch, "type": "branch"},
            )
        for name, value in env.variables.items():
            yield Call(
                "POST",
                f"{repo}/environments/{env.name}/variables",
                {"name": name, "value": value},
                update_path=f"{repo}/environments/{env.name}/variables/{name}",
            )
    for name, value in wiring.variables.items():
        yield Call(
            "POST",
            f"{repo}/actions/variables",
            {"name": name, "value": value},
            update_path=f"{repo}/actions/variables/{name}",
        )
    yield Call("POST", f"{repo}/rulesets", ruleset(wiring))


def ruleset(wiring: Wiring) -> dict[str, Any]:
    return {
        "name": RULESET_NAME,
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": [f"refs/heads/{MAIN_BRANCH}"], "exclude": []}},
        "rules": [
            {"type": "deletion"},
            {"type": "non_fast_forward"},
            {
                "type": "pull_request",
                "parameters": {
                    "required_approving_review_count": 1,
                    "dismiss_stale_reviews_on_push": True,
                    "require_code_owner_review": False,
                    "require_last_push_approval": True,
                    "required_review_thread_resolution": False,
                },
            },
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": False,
                    "required_status_checks": [{"context": c} for c in wiring.required_checks],
                },
            },
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
            },
        ],
    }


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


def dry_run(wiring: Wiring, echo: Callable[[str], None] = print) -> list[Call]:
    calls: list[Call] = []
    ids: dict[str, int | str] = {}
    for spec, lookup in reviewer_lookups(wiring):
        echo(lookup.describe())
        calls.append(lookup)
        ids[spec] = f"<id of {spec}>"
    for call in plan_calls(wiring, ids):
        echo(call.describe())
        calls.append(call)
    echo(f"-- dry run: {len(calls)} calls printed, none sent")
    return calls


def apply(wiring: Wiring, client: httpx.Client, echo: Callable[[str], None] = print) -> int:
    """Send every call; idempotent (a second run updates what exists). Returns the call count."""

    def send(method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        response = client.request(method, path, json=body)
        # 422 on a deployment branch policy that exists already is a re-run, not an error.
        exists = response.status_code == 422 and path.endswith("/deployment-branch-policies")
        if response.status_code >= 400 and not exists:
            raise DeployError(
                f"{method} {path} answered {response.status_code}: {response.text[:300]} "
                "(the token needs repository administration and environments write access)"
            )
        return response

    ids: dict[str, int | str] = {}
    for spec, lookup in reviewer_lookups(wiring):
        ids[spec] = int(send(lookup.method, lookup.path).json()["id"])
    count = 0
    for call in plan_calls(wiring, ids):
        echo(f"{call.method} {call.path}")
        if call.update_path and client.get(call.update_path).status_code == 200:
            assert call.body is not None
            send("PATCH", call.update_path, call.body)
        elif call.path.endswith("/rulesets"):
            existing = [r for r in send("GET", call.path).json() if r.get("name") == RULESET_NAME]
            if existing:
                send("PUT", f"{call.path}/{existing[0]['id']}", call.body)
            else:
                send(call.method, call.path, call.body)
        else:
            send(call.method, call.path, call.body)
        count += 1
    return count
