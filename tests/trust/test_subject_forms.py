"""Both forms of GitHub's `sub`: the builders reproduce GitHub's documented examples, and the
bootstrap trusts exactly the form its `github_sub_claim_prefix` names.

Fixtures: tests/trust/data/github_documented_subjects.json, quoted from GitHub Docs ("OpenID
Connect reference", sections "Example subject claims" and "Immutable subject claims"). The
controls run the whole proof with tokens of the other form and expect every role-using job to be
refused, each way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.oidc_subjects import (
    environment_subject,
    immutable_prefix,
    legacy_prefix,
    parse_sub_claim_prefix,
    pull_request_subject,
    ref_subject,
)
from scripts.github_setup.wiring import build_wiring
from scripts.trust.check import roles_accepting, trust_failures
from scripts.trust.github_oidc import assumptions
from tests.delivery.support import WORKFLOWS

from .conftest import REVIEWERS, ci_roles

DOCUMENTED = json.loads(
    (Path(__file__).parent / "data" / "github_documented_subjects.json").read_text()
)
LEGACY = DOCUMENTED["legacy"]["prefix"]
IMMUTABLE = DOCUMENTED["immutable"]["prefix"]
ALL = list(assumptions(WORKFLOWS))
WITH_TOKEN = [a for a in ALL if a.subject(LEGACY) is not None]


def _build(prefix: str, example: dict[str, Any]) -> str:
    builders: dict[str, Callable[..., str]] = {
        "environment": environment_subject,
        "ref": ref_subject,
        "pull_request": pull_request_subject,
    }
    value = example["value"]
    return builders[example["context"]](prefix, *([] if value is None else [value]))


@pytest.mark.parametrize(
    ("form", "example"),
    [
        (form, example)
        for form in ("legacy", "immutable", "immutable_concepts_page")
        for example in DOCUMENTED[form]["examples"]
    ],
    ids=lambda v: v if isinstance(v, str) else v["sub"],
)
def test_builders_reproduce_githubs_documented_subjects(form, example):
    assert _build(DOCUMENTED[form]["prefix"], example) == example["sub"]


def test_the_documented_prefixes_read_apart_and_rebuild():
    legacy = parse_sub_claim_prefix(LEGACY)
    assert (legacy.repository, legacy.immutable) == ("octo-org/octo-repo", False)
    assert legacy_prefix("octo-org/octo-repo") == LEGACY
    immutable = parse_sub_claim_prefix(IMMUTABLE)
    owner_id, repo_id = DOCUMENTED["immutable"]["owner_id"], DOCUMENTED["immutable"]["repo_id"]
    assert (immutable.owner_id, immutable.repo_id) == (owner_id, repo_id)
    assert immutable.repository == "octo-org/octo-repo"
    assert immutable_prefix("octo-org", owner_id, "octo-repo", repo_id) == IMMUTABLE


@pytest.mark.parametrize(
    "text",
    [
        "octo-org/octo-repo",  # the pre-2026 builders' argument
        "repo:octo-org@123456/octo-repo",  # one id only
        "repo:octo-org/octo-repo@456789",
        "repo:octo-org/octo-repo:ref:refs/heads/main",  # a whole subject, not its prefix
        "repository_owner:octo-org",  # a customised template's shape
        "repo:octo-org@0x1/octo-repo@2",
    ],
)
def test_anything_but_a_repository_prefix_is_refused(text):
    with pytest.raises(ValueError, match=r"prefix|id of only one"):
        environment_subject(text, "production")


# --- the bootstrap under both forms --------------------------------------------------------------


@pytest.fixture(scope="module")
def legacy_bootstrap(bootstrap_variant):
    return bootstrap_variant(github_repository="octo-org/octo-repo", github_sub_claim_prefix=LEGACY)


@pytest.fixture(scope="module")
def immutable_bootstrap(bootstrap_variant):
    return bootstrap_variant(
        github_repository="octo-org/octo-repo", github_sub_claim_prefix=IMMUTABLE
    )


def _failures(bootstrap, token_prefix: str) -> list[str]:
    wiring = build_wiring("octo-org/octo-repo", [bootstrap.outputs], reviewers=REVIEWERS)
    return trust_failures(
        ALL, sub_claim_prefix=token_prefix, wiring=wiring, roles=ci_roles(bootstrap)
    )


def test_a_bootstrap_of_either_form_admits_every_job_of_its_own_form(
    legacy_bootstrap, immutable_bootstrap
):
    assert _failures(legacy_bootstrap, LEGACY) == []
    assert _failures(immutable_bootstrap, IMMUTABLE) == []


def test_control_a_legacy_bootstrap_refuses_every_immutable_form_token(legacy_bootstrap):
    failures = _failures(legacy_bootstrap, IMMUTABLE)
    assert len(failures) == len(WITH_TOKEN)
    assert all(f"sub='{IMMUTABLE}:" in f and f"'{LEGACY}:" in f for f in failures), failures


def test_control_an_immutable_bootstrap_refuses_every_legacy_form_token(immutable_bootstrap):
    failures = _failures(immutable_bootstrap, LEGACY)
    assert len(failures) == len(WITH_TOKEN)
    assert all(f"sub='{LEGACY}:" in f and f"'{IMMUTABLE}:" in f for f in failures), failures


def test_githubs_documented_main_branch_subjects_reach_only_their_own_forms_role(
    legacy_bootstrap, immutable_bootstrap
):
    # The documented `...:ref:refs/heads/main` of each form: the plan role (issue 22) of the
    # bootstrap of that form, and nothing of the other.
    legacy_main = DOCUMENTED["legacy"]["examples"][-1]["sub"]
    immutable_main = DOCUMENTED["immutable"]["examples"][0]["sub"]
    legacy_roles, immutable_roles = ci_roles(legacy_bootstrap), ci_roles(immutable_bootstrap)
    assert roles_accepting(legacy_roles, legacy_main) == [legacy_bootstrap.outputs["plan_role_arn"]]
    assert roles_accepting(immutable_roles, immutable_main) == [
        immutable_bootstrap.outputs["plan_role_arn"]
    ]
    assert roles_accepting(legacy_roles, immutable_main) == []
    assert roles_accepting(immutable_roles, legacy_main) == []
    # Another repository's ids under the same names (a recycled name) are refused too.
    recycled = immutable_main.replace("@456789", "@999999")
    assert roles_accepting(immutable_roles, recycled) == []
