"""The docs' claims about which settings the platform writes are what the evaluated stacks write:
README.md's settings table says "platform" exactly for the variables some container or function
of staging or prod gets, and platform/README.md's "What the containers get" names every one."""

from __future__ import annotations

import json
import re

from infra.config import (
    DEPLOY_JOB_MINUTES,
    MAX_SERVICE_WAIT_MINUTES,
    MAX_WAITED_BAKE_MINUTES,
    SERVICE_ROLLOUT_WAIT_MINUTES,
    StackConfig,
)
from service.messaging.topology import TOPOLOGY
from tests.service.test_readme_settings import settings_table
from tools.paths import REPO_ROOT
from tools.plan.offline import EvaluatedStack

PLATFORM_README = REPO_ROOT / "platform" / "README.md"
CONTAINERS_HEADER = "| variable | containers | value |"
# "topic ARNs and queue URLs": the dead-letter queues' URLs are for tests and `make dev` only.
TOPOLOGY_VARIABLES = {
    name
    for field, names in TOPOLOGY.endpoint_env_vars().items()
    if field in ("topic_arns", "queue_urls")
    for name in names.values()
}


def written_by_the_platform(*stacks: EvaluatedStack) -> set[str]:
    """Every variable an ECS container (environment or injected secret) or a Lambda function of
    these stacks is given."""
    names: set[str] = set()
    for stack in stacks:
        for resource in stack.resources:
            if resource.type == "aws:ecs/taskDefinition:TaskDefinition":
                for container in json.loads(resource.inputs["containerDefinitions"]):
                    names |= {item["name"] for item in container.get("environment", [])}
                    names |= {item["name"] for item in container.get("secrets", [])}
            elif resource.type == "aws:lambda/function:Function":
                names |= set((resource.inputs.get("environment") or {}).get("variables", {}))
    return names


def readme_platform_rows(text: str) -> set[str]:
    """The variables README.md's settings table says the platform sets."""
    return {
        name
        for row in settings_table(text)
        if row[4].startswith("platform")
        for name in re.findall(r"`([A-Z_]+)`", row[0])
    }


def containers_table(text: str) -> set[str]:
    rows = text.split(CONTAINERS_HEADER, 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    named = set()
    for row in rows:
        first = row.split("|")[1]
        named |= set(re.findall(r"`([A-Z_]+)(?:=\w+)?`", first))
        if "topic ARNs and queue URLs" in first:
            named |= TOPOLOGY_VARIABLES
    return named


def test_readme_says_platform_for_exactly_what_the_stacks_write(staging, prod):
    written = written_by_the_platform(staging, prod)
    said = readme_platform_rows((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    assert written - said == set(), "README.md: say 'platform' in these rows' 'where' cell"
    assert said - written == set(), "README.md says 'platform' but no stack writes these"


def test_platform_readme_names_every_variable_the_containers_get(staging, prod):
    written = written_by_the_platform(staging, prod)
    named = containers_table(PLATFORM_README.read_text(encoding="utf-8"))
    assert written - named == set(), "platform/README.md, 'What the containers get', lacks these"
    assert named - written == set(), "platform/README.md names variables no container gets"


def test_settings_docs_checks_fail_on_a_row_that_lies(staging):
    """Control: a README row claiming the platform sets `CORS_ORIGINS` is caught, and so is a
    containers table without `AWS_REGION`."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in text.splitlines() if line.startswith("| `CORS_ORIGINS` |")]
    lying = text.replace(row, row.rsplit("| default |", 1)[0] + "| platform |")
    assert "CORS_ORIGINS" in readme_platform_rows(lying) - written_by_the_platform(staging)
    platform_text = PLATFORM_README.read_text(encoding="utf-8")
    assert "AWS_REGION" not in containers_table(platform_text.replace("`AWS_REGION`", "x"))


def test_platform_readme_states_the_bake_limit_the_config_enforces():
    """The bake row's numbers are the ones `_bake_fits_the_deploy_job` computes with."""
    (row,) = [
        line
        for line in PLATFORM_README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `blue_green_bake_minutes` |")
    ]
    kept = DEPLOY_JOB_MINUTES - MAX_SERVICE_WAIT_MINUTES
    for claim in (
        f"0–{MAX_WAITED_BAKE_MINUTES}:",
        f"timeouts are {SERVICE_ROLLOUT_WAIT_MINUTES} min + the bake",
        f"stops after {DEPLOY_JOB_MINUTES} min, {kept} of them kept",
    ):
        assert claim in row, claim


def stack_settings_table_keys(text: str) -> set[str]:
    """The keys the first column of platform/README.md's "Stack settings" table names."""
    rows = text.split("| key | default | meaning |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return {key for row in rows for key in re.findall(r"`([\w:]+)`", row.split("|")[1])}


def test_platform_readme_has_a_row_for_every_stack_setting():
    known = {key.removeprefix("shipyard:") for key in StackConfig.config_fields().values()}
    named = stack_settings_table_keys(PLATFORM_README.read_text(encoding="utf-8"))
    assert known - named == set(), "platform/README.md's 'Stack settings' lacks these keys"
    assert named - known - {"aws:defaultTags"} == set(), "no StackConfig field reads these keys"


def test_stack_settings_check_fails_without_a_row():
    text = PLATFORM_README.read_text(encoding="utf-8").replace("| `price_class` |", "| x |")
    assert "price_class" not in stack_settings_table_keys(text)
