"""Comments that state a fact of the platform state the platform's own value."""

from __future__ import annotations

import re

from infra.service_declaration import load_declaration
from service.messaging.topology import TOPOLOGY
from tests.delivery.support import REPO_ROOT

# The demo's web service's health path, as services.yaml declares it (issue 24).
HEALTH_CHECK_PATH = load_declaration(TOPOLOGY).services["api"].health_path

DOCKERFILE = REPO_ROOT / "Dockerfile"


def health_paths_named(comment_text: str) -> set[str]:
    """The paths a Dockerfile's comments give for the api's health checks."""
    comments = " ".join(
        line.lstrip("# ") for line in comment_text.splitlines() if line.startswith("#")
    )
    (sentence,) = [s for s in comments.split(". ") if "target group" in s]
    return set(re.findall(r"(/(?:healthz|readyz))\b", sentence.split("why not")[0]))


def test_dockerfile_names_the_target_groups_health_path():
    assert health_paths_named(DOCKERFILE.read_text(encoding="utf-8")) == {HEALTH_CHECK_PATH}


def test_dockerfile_check_fails_on_the_old_comment():
    """Control: the comment as it was before issue 24 (the target group checks /readyz)."""
    old = (
        "# No HEALTHCHECK: ECS judges the api through the load balancer's target group (/readyz), "
        "and the\n# same image runs the worker and the migration.\n"
    )
    assert health_paths_named(old) != {HEALTH_CHECK_PATH}


DOCS = ("README.md", "docs/getting-started-on-aws.md", "platform/README.md")
FILE_NAME = re.compile(r"`([\w./-]+\.(?:py|md|yaml|yml|txt|json|env|toml|ini))`")
# Named in the docs but not in the repository, on purpose: written by `make bootstrap` and the
# guide's state move, or a file of an installed package (moto's copy of AWS's managed policies).
NOT_IN_THE_REPOSITORY = {"bootstrap-shipyard.json", "bootstrap-state.json"}


def missing_files(doc: str, text: str) -> list[str]:
    """Files the doc names that exist nowhere it could mean: from the repository root, from
    `platform/` (where `infra/...` lives), beside the doc, or, for a bare name, anywhere."""
    missing = []
    for name in sorted(set(FILE_NAME.findall(text))):
        if name in NOT_IN_THE_REPOSITORY or name.startswith("moto/"):
            continue
        places = (REPO_ROOT / name, REPO_ROOT / "platform" / name, (REPO_ROOT / doc).parent / name)
        found_by_name = "/" not in name and any(REPO_ROOT.glob(f"[!.]*/**/{name}"))
        if not any(place.exists() for place in places) and not found_by_name:
            missing.append(name)
    return missing


def test_every_file_the_docs_name_exists():
    for doc in DOCS:
        assert missing_files(doc, (REPO_ROOT / doc).read_text(encoding="utf-8")) == [], doc


def test_the_file_check_fails_on_a_file_that_is_gone():
    assert missing_files("README.md", "see `infra/no_such_block.py`") == ["infra/no_such_block.py"]
