"""What the repository is, read from GitHub before anything is written: owner, visibility, plan,
the features that plan gives it, and the `sub` its OIDC tokens carry.

Features by plan (GitHub Docs, "Managing environments for deployment", "About rulesets", "About
merge queues"; read 2026-12-07):

- environments (and their deployment branches and variables): every public repository; private
  or internal ones on Pro, Team or Enterprise;
- required reviewers on an environment: every public repository; private ones on Enterprise;
- rulesets: every public repository; private ones on Pro, Team or Enterprise;
- merge queue: organisation-owned public repositories, and private ones on Enterprise Cloud.

The subject: `GET /repos/{owner}/{repo}/actions/oidc/customization/sub` answers GitHub's
`oidc-custom-sub-repo` (`use_default`, `include_claim_keys`, `use_immutable_subject`,
`sub_claim_prefix`); the trust policies (infra/oidc_subjects.py) match `<prefix>:<context>`, which
is GitHub's default template, so a customised template is supported only when it is that template.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.oidc_subjects import DEFAULT_CLAIM_KEYS, immutable_prefix, legacy_prefix
from scripts.deploy.errors import DeployError

# Plan names as GitHub's API reports them (`plan.name` of `GET /orgs/{org}`, `GET /users/{user}`;
# an Enterprise Cloud organisation answers "enterprise", as microsoft/PowerShellForGitHub#373
# records). Any other name is treated like GitHub Free: nothing is assumed that was not read.
PRO_OR_ABOVE = frozenset({"pro", "team", "enterprise"})
ENTERPRISE = frozenset({"enterprise"})
SETTING = "shipyard-bootstrap:github_sub_claim_prefix"

Get = Callable[[str], Mapping[str, Any] | None]  # a GET: the JSON answer, None on 404


@dataclass(frozen=True)
class Features:
    environments: bool  # and with them deployment branches and environment variables
    environment_reviewers: bool
    rulesets: bool
    merge_queue: bool


ALL_FEATURES = Features(
    environments=True, environment_reviewers=True, rulesets=True, merge_queue=True
)


@dataclass(frozen=True)
class Repository:
    full_name: str
    owner_type: str  # "User" or "Organization"
    visibility: str  # "public", "private" or "internal"
    plan: str | None  # the owner's plan, when the token may read it
    default_branch: str
    sub_claim_prefix: str
    subject_problem: str | None = None  # why the `sub` does not fit our trust policies

    @property
    def kind(self) -> str:
        owner = "organisation" if self.owner_type == "Organization" else "user"
        plan = f"GitHub {self.plan.capitalize()}" if self.plan else "plan unknown"
        return f"{owner}-owned {self.visibility} repository ({plan})"

    @property
    def features(self) -> Features:
        if self.visibility == "public":
            return Features(
                environments=True,
                environment_reviewers=True,
                rulesets=True,
                merge_queue=self.owner_type == "Organization",
            )
        # Internal repositories exist only under Enterprise; otherwise go by the plan read, and
        # by GitHub Free when it could not be read (the cautious guess: nothing is assumed).
        plan = "enterprise" if self.visibility == "internal" else (self.plan or "free")
        return Features(
            environments=plan in PRO_OR_ABOVE,
            environment_reviewers=plan in ENTERPRISE,
            rulesets=plan in PRO_OR_ABOVE,
            merge_queue=self.owner_type == "Organization" and plan in ENTERPRISE,
        )


def subject_problem(customization: Mapping[str, Any]) -> str | None:
    """Why this subject template makes a `sub` the trust policies cannot match (None: it fits)."""
    if customization.get("use_default", True):
        return None
    keys = tuple(customization.get("include_claim_keys") or ())
    if keys == DEFAULT_CLAIM_KEYS:
        return None  # GitHub's default template, spelt out
    shape = ":".join(f"{key}:<{key}>" for key in keys) or "(empty)"
    return (
        f"the repository's OIDC subject template is customised (include_claim_keys {list(keys)}), "
        f"so every token's sub is `{shape}`; the bootstrap's trust policies match only GitHub's "
        f"default `repo:<owner>/<repo>:<context>`. Have an administrator set the default for this "
        f"repository (PUT /repos/{{owner}}/{{repo}}/actions/oidc/customization/sub with "
        f'{{"use_default": true}}), then run this again'
    )


def read_repository(get: Get, repository: str) -> Repository:
    """Every fact the set-up depends on, read (GET only) before anything is written."""
    facts = get(f"/repos/{repository}")
    if facts is None:
        raise DeployError(
            f"GitHub has no repository {repository} that this token may see (check --repo and "
            "that the token is granted this repository)"
        )
    owner = facts["owner"]
    owner_type = str(owner["type"])
    if owner_type == "Organization":
        account = get(f"/orgs/{owner['login']}")
    else:
        account = get(f"/users/{owner['login']}")
    # GitHub shows `plan` to the account itself and an organisation's members only.
    plan = ((account or {}).get("plan") or {}).get("name")
    customization = get(f"/repos/{repository}/actions/oidc/customization/sub") or {
        "use_default": True
    }
    prefix = customization.get("sub_claim_prefix")
    if not prefix:
        # An answer without the field (GitHub Enterprise Server, an older API): derive it the way
        # GitHub documents the two forms.
        if customization.get("use_immutable_subject"):
            prefix = immutable_prefix(
                str(owner["login"]), int(owner["id"]), str(facts["name"]), int(facts["id"])
            )
        else:
            prefix = legacy_prefix(str(facts["full_name"]))
    return Repository(
        full_name=str(facts["full_name"]),
        owner_type=owner_type,
        visibility=str(facts.get("visibility") or ("private" if facts["private"] else "public")),
        plan=str(plan).lower() if plan else None,
        default_branch=str(facts.get("default_branch") or "main"),
        sub_claim_prefix=str(prefix),
        subject_problem=subject_problem(customization),
    )


def describe(repository: Repository) -> list[str]:
    """The report `--repo` alone prints: what GitHub says, and the bootstrap setting it implies."""
    features = repository.features
    lines = [f"{repository.full_name}: {repository.kind}"]
    if repository.plan is None:
        lines.append(
            "  plan: not readable with this token (GitHub shows it to the account and to members "
            "of its organisation); assumed GitHub Free for a private repository"
        )
    for name, present in (
        ("environments with deployment branches", features.environments),
        ("required reviewers on environments", features.environment_reviewers),
        ("rulesets", features.rulesets),
        ("merge queue", features.merge_queue),
    ):
        lines.append(f"  {name}: {'yes' if present else 'no'}")
    if repository.subject_problem:
        lines.append(f"  OIDC subject: UNSUPPORTED: {repository.subject_problem}")
    else:
        lines.append(f"  OIDC subject prefix: {repository.sub_claim_prefix}")
        lines.append(f"  bootstrap setting: {SETTING}: {repository.sub_claim_prefix}")
    return lines
