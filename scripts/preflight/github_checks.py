"""The GitHub half: the repository's OIDC subject and plan against what the bootstrap and the
workflows need. Read-only GETs of GitHub's REST API (version 2022-11-28), at GITHUB_API_URL
(GitHub's own variable: a runner and GitHub Enterprise set it; tests point it at a stand-in).

What the repository is (owner, visibility, plan, the features that plan gives it, the `sub` its
tokens carry) is read the way `python -m scripts.github_setup` reads it before it writes
(scripts/github_setup/repository.py, which also holds the rules by plan), so the set-up and this
check cannot disagree about a repository.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from scripts.deploy.errors import DeployError
from scripts.github_setup.repository import SETTING, Repository, read_repository
from scripts.preflight.result import Result, fail, ok, skip
from scripts.preflight.stack_files import BOOTSTRAP_DIR, BootstrapFile

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
SETUP = "python -m scripts.github_setup --repo {repository}"


def api_url() -> str:
    return (os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")


def token_from_environment() -> str | None:
    for name in TOKEN_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


def client(token: str, base_url: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=base_url or api_url(),
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        },
        timeout=30,
    )


class GitHubError(RuntimeError):
    """GitHub answered a GET with something other than 200 and JSON (the message says what)."""

    def __init__(self, path: str, response: httpx.Response) -> None:
        self.status = response.status_code
        self.path = path
        try:
            message = str(response.json().get("message", ""))
        except (ValueError, AttributeError):
            message = response.text[:200]
        super().__init__(f"GET {path} answered {self.status}: {message}")


def get(github: httpx.Client, path: str, **params: Any) -> Any:
    response = github.get(path, params=params or None)
    if response.status_code != 200:
        raise GitHubError(path, response)
    try:
        return response.json()
    except ValueError:  # not JSON: GITHUB_API_URL names something else than GitHub's API
        raise GitHubError(path, response) from None


def _get_or_none(github: httpx.Client) -> Any:
    """The GET the set-up's reader takes: the JSON answer, None on 404 (anything else raises)."""

    def answer(path: str) -> Mapping[str, Any] | None:
        try:
            return get(github, path)  # type: ignore[no-any-return]
        except GitHubError as error:
            if error.status == 404:
                return None
            raise

    return answer


def check_repository(github: httpx.Client, repository: str) -> Result | Repository:
    """The repository, or a failure saying why the token cannot read it."""
    name = "GitHub repository"
    try:
        return read_repository(_get_or_none(github), repository)
    except DeployError:  # 404: none that this token may see
        return fail(
            name,
            f"{repository} is not visible to this token (404)",
            "check shipyard-bootstrap:github_repository, and use a token granted this "
            "repository (GITHUB_TOKEN=$(gh auth token))",
        )
    except (KeyError, TypeError, AttributeError, ValueError):
        return fail(
            name,
            f"GET /repos/{repository} at {github.base_url} answered something that is not a "
            "repository",
            "point GITHUB_API_URL at GitHub's REST API (unset it for github.com)",
        )
    except GitHubError as answer:
        if answer.status == 401:
            detail, fix = (
                "GitHub refused the token (401)",
                "use a valid token: GITHUB_TOKEN=$(gh auth token)",
            )
        else:
            detail, fix = str(answer), "use a token that may read the repository, or try again"
        return fail(name, detail, fix)


# --- the OIDC subject ----------------------------------------------------------------------------


def check_subject_prefix(repo: Repository, bootstrap: BootstrapFile) -> Result:
    """The repository's tokens carry the prefix the bootstrap's roles trust."""
    name = "OIDC subject"
    if repo.subject_problem:
        return fail(
            name, repo.subject_problem, "reset the template (see above), then run this again"
        )
    trusted = bootstrap.sub_claim_prefix
    if repo.sub_claim_prefix != trusted:
        return fail(
            name,
            f"the repository's tokens carry {repo.sub_claim_prefix}:..., but the bootstrap trusts "
            f"{trusted}:...: every role would refuse them",
            f"set `{SETTING}: {repo.sub_claim_prefix}` in {BOOTSTRAP_DIR / bootstrap.path.name} "
            f"and run `make bootstrap BOOTSTRAP_STACK={bootstrap.stack}`",
        )
    return ok(name, f"{repo.sub_claim_prefix}, as the bootstrap trusts")


# --- what the plan provides against what the wiring needs ---------------------------------------


def check_plan(repo: Repository) -> Result:
    """Production must deploy only from main, through an environment restricted to main: a
    repository whose plan has no environments cannot be wired (the set-up refuses it too)."""
    name = "repository plan"
    features = repo.features
    listed = "; ".join(
        f"{label}: {'yes' if present else 'no'}"
        for label, present in (
            ("environments with deployment branches", features.environments),
            ("required reviewers", features.environment_reviewers),
            ("rulesets", features.rulesets),
            ("merge queue", features.merge_queue),
        )
    )
    unread = (
        "\n(the plan is not readable with this token, so GitHub Free is assumed: use a token of "
        "the owner or of a member of its organisation to read it)"
        if repo.plan is None and repo.visibility != "public"
        else ""
    )
    detail = f"{repo.kind}\n{listed}{unread}"
    if features.environments:
        return ok(name, detail)
    return fail(
        name,
        detail + "\na private repository on this plan has no environments: any branch could name "
        "`environment: production`, so nothing limits production to main",
        "make the repository public, or move its owner to GitHub Pro, Team or Enterprise",
    )


def check_environment(
    github: httpx.Client, repo: Repository, environment: str, branch: str
) -> Result:
    """The environment the stack's deploy job names exists and admits only `branch`."""
    name = f"environment {environment}"
    setup = f"run `{SETUP.format(repository=repo.full_name)}`"
    if not repo.features.environments:
        return skip(name, "this plan has no environments for a private repository (see above)")
    try:
        body = get(github, f"/repos/{repo.full_name}/environments/{environment}")
    except GitHubError as answer:
        if answer.status != 404:
            raise
        return fail(name, f"{repo.full_name} has no environment {environment!r}", setup)
    reviewers = [
        rule
        for rule in body.get("protection_rules") or []
        if rule.get("type") == "required_reviewers"
    ]
    approval = "required reviewers" if reviewers else "no required reviewers"
    policy = body.get("deployment_branch_policy")
    if not policy:
        return fail(name, "every branch may deploy to it (no deployment branch policy)", setup)
    if not policy.get("custom_branch_policies"):
        return fail(
            name,
            f"any protected branch may deploy to it (protected_branches), not only {branch}",
            setup,
        )
    policies = get(
        github,
        f"/repos/{repo.full_name}/environments/{environment}/deployment-branch-policies",
        per_page=100,
    )["branch_policies"]
    names = sorted(f"{p.get('type', 'branch')}:{p['name']}" for p in policies)
    if names != [f"branch:{branch}"]:
        return fail(
            name,
            f"deployment branches are {', '.join(names) or 'none'}; the wiring admits only "
            f"branch:{branch}",
            setup,
        )
    return ok(name, f"deploys only from {branch}; {approval}")


def check_branch_rules(github: httpx.Client, repo: Repository, branch: str) -> Result:
    """The rules that apply to `branch` (rulesets of the repository and its organisation)."""
    name = f"rules on {branch}"
    if not repo.features.rulesets:
        return skip(
            name,
            "no rulesets for a private repository on this plan: anyone who may push to "
            f"{branch} deploys without review",
        )
    try:
        rules = get(github, f"/repos/{repo.full_name}/rules/branches/{branch}", per_page=100)
    except GitHubError as answer:
        if answer.status not in (403, 404):
            raise
        return fail(name, str(answer), f"run `{SETUP.format(repository=repo.full_name)}`")
    types = {rule.get("type") for rule in rules}
    missing = [t for t in ("pull_request", "required_status_checks") if t not in types]
    if missing:
        return fail(
            name,
            f"{branch} lacks {', '.join(missing)}: unreviewed or unchecked code reaches the deploy",
            f"run `{SETUP.format(repository=repo.full_name)}`",
        )
    queue = "with" if "merge_queue" in types else "without"
    return ok(name, f"reviews and required checks, {queue} a merge queue")
