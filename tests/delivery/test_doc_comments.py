"""Comments that state a fact of the platform state the platform's own value."""

from __future__ import annotations

import re

from infra.load_balancer import HEALTH_CHECK_PATH
from tests.delivery.support import REPO_ROOT

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
