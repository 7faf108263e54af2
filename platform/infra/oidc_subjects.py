"""The `sub` claims GitHub issues to a repository's jobs: one place for their form.

A subject is the repository's prefix followed by the job's context (GitHub docs, "OpenID Connect
reference", sections "Example subject claims" and "Immutable subject claims"):

- the prefix is what GitHub's REST API calls `sub_claim_prefix`
  (`GET /repos/{owner}/{repo}/actions/oidc/customization/sub`): `repo:OWNER/REPO` in the legacy
  form, `repo:OWNER@OWNER-ID/REPO@REPO-ID` in the immutable form every repository created, renamed
  or transferred after GitHub's 2026 switch carries (and any that opted in);
- the context is `environment:NAME` for a job bound to an environment, `pull_request` for a pull
  request, else `ref:REF` (a push, dispatch, schedule, or the merge queue's branch).

So every builder takes the prefix, never `OWNER/REPO`: the bootstrap's trust policies and the
trust proof (scripts/trust) derive the same strings from the same setting
(`shipyard-bootstrap:github_sub_claim_prefix`). Only GitHub's default template (the claim keys
`repo`, `context`) has this shape; `scripts.github_setup --repo O/R` says when a repository's
customised template makes its `sub` something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The claim keys of GitHub's default subject template: the only shape these builders produce.
DEFAULT_CLAIM_KEYS = ("repo", "context")
# `@` cannot appear in GitHub user, organisation or repository names, so it separates the ids.
SUB_CLAIM_PREFIX = re.compile(
    r"^repo:(?P<owner>[A-Za-z0-9][A-Za-z0-9-]{0,38})(?:@(?P<owner_id>[1-9][0-9]*))?"
    r"/(?P<name>[A-Za-z0-9._-]{1,100})(?:@(?P<repo_id>[1-9][0-9]*))?$"
)
PREFIX_EXAMPLES = "repo:octo-org/octo-repo (legacy) or repo:octo-org@123456/octo-repo@456789"


@dataclass(frozen=True)
class SubjectPrefix:
    """A repository's `sub_claim_prefix`, read apart."""

    owner: str
    name: str
    owner_id: int | None = None
    repo_id: int | None = None

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def immutable(self) -> bool:
        return self.repo_id is not None

    def __str__(self) -> str:
        if self.owner_id is None or self.repo_id is None:
            return f"repo:{self.repository}"
        return f"repo:{self.owner}@{self.owner_id}/{self.name}@{self.repo_id}"


def parse_sub_claim_prefix(text: str) -> SubjectPrefix:
    """`repo:O/R` or `repo:O@ID/R@ID`; a ValueError saying what is wrong otherwise."""
    match = SUB_CLAIM_PREFIX.match(text)
    if match is None:
        raise ValueError(f"is not a GitHub subject prefix such as {PREFIX_EXAMPLES}")
    owner_id, repo_id = match["owner_id"], match["repo_id"]
    if (owner_id is None) != (repo_id is None):
        # GitHub's immutable form carries both ids; one alone is a copying mistake.
        raise ValueError(
            "carries the id of only one of owner and repository; the immutable form carries "
            f"both ({PREFIX_EXAMPLES})"
        )
    return SubjectPrefix(
        owner=match["owner"],
        name=match["name"],
        owner_id=int(owner_id) if owner_id else None,
        repo_id=int(repo_id) if repo_id else None,
    )


def legacy_prefix(repository: str) -> str:
    """The name-only prefix of a repository that has not moved to immutable subjects."""
    owner, _, name = repository.partition("/")
    return str(parse_sub_claim_prefix(f"repo:{owner}/{name}"))


def immutable_prefix(owner: str, owner_id: int, name: str, repo_id: int) -> str:
    return str(SubjectPrefix(owner=owner, name=name, owner_id=owner_id, repo_id=repo_id))


def _checked(prefix: str) -> str:
    # A builder handed `OWNER/REPO` (the pre-2026 signature) must fail loudly, not build a subject
    # no token ever carries.
    parse_sub_claim_prefix(prefix)
    return prefix


def _claim(value: str) -> str:
    # GitHub replaces `:` inside a claim value with `%3A` ("Filtering for metadata containing :").
    return value.replace(":", "%3A")


def environment_subject(prefix: str, environment: str) -> str:
    return f"{_checked(prefix)}:environment:{_claim(environment)}"


def ref_subject(prefix: str, ref: str) -> str:
    """A job on `ref` (`refs/heads/...`, `refs/tags/...`) outside an environment and a PR."""
    return f"{_checked(prefix)}:ref:{_claim(ref)}"


def branch_subject(prefix: str, branch: str) -> str:
    return ref_subject(prefix, f"refs/heads/{branch}")


def pull_request_subject(prefix: str) -> str:
    return f"{_checked(prefix)}:pull_request"


def merge_queue_subject_pattern(prefix: str, branch: str) -> str:
    # gh-readonly-queue/<base>/pr-<number>-<head sha>: only StringLike can match it.
    return ref_subject(prefix, f"refs/heads/gh-readonly-queue/{branch}/*")
