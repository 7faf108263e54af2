"""The GitHub half: the repository's OIDC subject and plan against what the bootstrap and the
workflows need. Read-only GETs of GitHub's REST API (version 2022-11-28), at GITHUB_API_URL
(GitHub's own variable: a runner and GitHub Enterprise set it; tests point it at a stand-in).

Rules by plan (GitHub docs "Managing environments for deployment", "About rulesets", "About merge
queues"; shared/design/FACTS.md, 2026-12-07): in a private repository, environments with
deployment branches and rulesets need Pro, Team or Enterprise, required reviewers Enterprise; a
merge queue needs an organisation, and for a private repository Enterprise Cloud. A public
repository has environments, reviewers and rulesets on every plan.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from scripts.preflight.result import Result, fail, ok, skip
from scripts.preflight.stack_files import SUB_CLAIM_PREFIX_KEY, BootstrapFile

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
# Plans (`plan.name` of GET /user or GET /orgs/{org}) whose private repositories have
# environments with deployment branches, and rulesets; and the one with required reviewers.
# Another name is reported as unknown rather than guessed.
KNOWN_PLANS = ("free", "pro", "team", "enterprise")
PAID_PLANS = ("pro", "team", "enterprise")
ENTERPRISE_PLANS = ("enterprise",)
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


@dataclass(frozen=True)
class Repository:
    """What GET /repos/{owner}/{repo} (and the owner's plan, where the token may see it) says."""

    full_name: str
    owner: str
    owner_id: int
    owner_type: str  # "User" or "Organization"
    name: str
    repo_id: int
    private: bool
    visibility: str
    plan: str | None  # None: the token may not see the owner's plan

    @property
    def legacy_prefix(self) -> str:
        return f"repo:{self.owner}/{self.name}"

    @property
    def immutable_prefix(self) -> str:
        return f"repo:{self.owner}@{self.owner_id}/{self.name}@{self.repo_id}"

    def _plan_is_one_of(self, plans: tuple[str, ...]) -> bool | None:
        return None if self.plan not in KNOWN_PLANS else self.plan in plans

    @property
    def environments_restrict_branches(self) -> bool | None:
        """Can an environment be limited to deployment branches? None: the plan is not known."""
        return True if not self.private else self._plan_is_one_of(PAID_PLANS)

    @property
    def has_rulesets(self) -> bool | None:
        return self.environments_restrict_branches  # the same plans (see the module's doc)

    @property
    def has_required_reviewers(self) -> bool | None:
        return True if not self.private else self._plan_is_one_of(ENTERPRISE_PLANS)

    @property
    def has_merge_queue(self) -> bool | None:
        if self.owner_type != "Organization":
            return False
        return True if not self.private else self._plan_is_one_of(ENTERPRISE_PLANS)

    def describe(self) -> str:
        owner = "organisation" if self.owner_type == "Organization" else "user"
        plan = f"plan {self.plan}" if self.plan else "plan not visible to this token"
        return f"{self.visibility} repository of the {owner} {self.owner}, {plan}"


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


def _plan(github: httpx.Client, owner: str, owner_type: str) -> str | None:
    """The owner's plan: an organisation's shows to its owners, a user's only to that user."""
    try:
        if owner_type == "Organization":
            plan = get(github, f"/orgs/{owner}").get("plan")
        else:
            me = get(github, "/user")
            plan = me.get("plan") if me.get("login", "").lower() == owner.lower() else None
    except GitHubError:
        return None
    return str(plan["name"]).lower() if isinstance(plan, dict) and plan.get("name") else None


def read_repository(github: httpx.Client, repository: str) -> Repository:
    body = get(github, f"/repos/{repository}")
    owner = body["owner"]
    return Repository(
        full_name=body["full_name"],
        owner=owner["login"],
        owner_id=int(owner["id"]),
        owner_type=owner["type"],
        name=body["name"],
        repo_id=int(body["id"]),
        private=bool(body["private"]),
        visibility=str(body.get("visibility") or ("private" if body["private"] else "public")),
        plan=_plan(github, owner["login"], owner["type"]),
    )


def check_repository(github: httpx.Client, repository: str) -> Result | Repository:
    """The repository, or a failure saying why the token cannot read it."""
    try:
        return read_repository(github, repository)
    except (KeyError, TypeError, AttributeError):
        return fail(
            "GitHub repository",
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
        elif answer.status in (403, 404):
            detail = f"{repository} is not visible to this token ({answer.status})"
            fix = (
                "check shipyard-bootstrap:github_repository, and use a token that may read the "
                "repository and administer it (GITHUB_TOKEN=$(gh auth token))"
            )
        else:
            detail, fix = str(answer), "try again; GitHub may be unavailable"
        return fail("GitHub repository", detail, fix)


# --- the OIDC subject ----------------------------------------------------------------------------


def repository_subject_prefix(github: httpx.Client, repo: Repository) -> tuple[str | None, str]:
    """The prefix of every `sub` this repository's tokens carry, and how it was found.

    GitHub's `sub_claim_prefix` is authoritative (it reflects the immutable form and any
    organisation template); without it, `use_default` means GitHub's default template: the
    immutable form when `use_immutable_subject`, else the legacy one. A customised template whose
    subjects do not end in the job's context (`...:environment:<name>`) has no prefix the roles
    can use: None.
    """
    body = get(github, f"/repos/{repo.full_name}/actions/oidc/customization/sub")
    use_default = body.get("use_default", True)
    keys = [str(k) for k in body.get("include_claim_keys") or []]
    unsupported = None, f"customised template include_claim_keys={keys}"
    # What follows the prefix: the job's context, optionally then the ref (a template that pins
    # the branch into the subject, for plans without environments restricted to a branch).
    tail = 2 if keys[-2:] == ["context", "ref"] else 1 if keys[-1:] == ["context"] else 0
    if not use_default and not tail:
        return unsupported
    if body.get("sub_claim_prefix"):
        return str(body["sub_claim_prefix"]), "sub_claim_prefix"
    if use_default:
        if body.get("use_immutable_subject"):
            return repo.immutable_prefix, "default template, immutable subject"
        return repo.legacy_prefix, "default template, legacy subject"
    values = {"repo": repo.full_name, "repository_owner": repo.owner}
    if not all(key in values for key in keys[:-tail]):
        return unsupported
    return ":".join(f"{key}:{values[key]}" for key in keys[:-tail]), f"template {keys}"


def check_subject_prefix(
    github: httpx.Client, repo: Repository, bootstrap: BootstrapFile
) -> Result:
    name = "OIDC subject"
    prefix, source = repository_subject_prefix(github, repo)
    setting = SUB_CLAIM_PREFIX_KEY
    where = f"platform/bootstrap/{bootstrap.path.name}"
    if prefix is None:
        return fail(
            name,
            f"{repo.full_name}'s tokens use a {source}: their `sub` does not end in the job's "
            "environment, which the bootstrap's roles trust",
            f"reset the repository's template (PUT /repos/{repo.full_name}/actions/oidc/"
            'customization/sub with {"use_default": true}) or ask the organisation\'s admin',
        )
    trusted = bootstrap.sub_claim_prefix or repo.legacy_prefix
    unset = "" if bootstrap.sub_claim_prefix else f" ({setting} unset: the legacy form)"
    if prefix != trusted:
        return fail(
            name,
            f"the repository's tokens carry {prefix}:... ({source}), but the bootstrap trusts "
            f"{trusted}:...{unset}: every role would refuse them",
            f"set `{setting}: {prefix}` in {where} and run `make bootstrap`",
        )
    return ok(name, f"{prefix} ({source}), as the bootstrap trusts")


# --- what the plan provides against what the wiring needs ---------------------------------------


def _subject_pins_ref(github: httpx.Client, repo: Repository) -> bool:
    body = get(github, f"/repos/{repo.full_name}/actions/oidc/customization/sub")
    return not body.get("use_default", True) and "ref" in (body.get("include_claim_keys") or [])


def check_plan(github: httpx.Client, repo: Repository) -> Result:
    """Production must deploy only from main: through an environment restricted to main, or,
    where the plan has no such environments, through a subject that carries the branch."""
    name = "repository plan"
    features = [
        f"{label}: {'yes' if has else 'no' if has is False else 'unknown'}"
        for label, has in (
            ("environments with deployment branches", repo.environments_restrict_branches),
            ("required reviewers", repo.has_required_reviewers),
            ("rulesets", repo.has_rulesets),
            ("merge queue", repo.has_merge_queue),
        )
    ]
    detail = f"{repo.describe()}\n" + "; ".join(features)
    if repo.environments_restrict_branches is None:
        return skip(name, detail + "\n(the environment check below shows what is configured)")
    if repo.environments_restrict_branches or _subject_pins_ref(github, repo):
        return ok(name, detail)
    return fail(
        name,
        detail + "\na private repository on this plan has no environments: any branch can name "
        "`environment: production`, so nothing limits production to main",
        "make the repository public, or move it to GitHub Pro, Team or Enterprise, or have "
        f"`{SETUP.format(repository=repo.full_name)}` pin production's trust to main",
    )


def check_environment(
    github: httpx.Client, repo: Repository, environment: str, branch: str
) -> Result:
    """The environment the stack's deploy job names exists and admits only `branch`."""
    name = f"environment {environment}"
    setup = f"run `{SETUP.format(repository=repo.full_name)}`"
    if repo.environments_restrict_branches is False:
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
    if repo.has_rulesets is False:
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
