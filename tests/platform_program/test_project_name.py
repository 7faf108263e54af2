"""Renaming the project is the `name:` of each Pulumi.yaml and the namespace of its stack files'
keys, nothing else: proven by planning a renamed copy of the repository offline.

The copy is the repository's tracked files with `name: acme` (and `acme-bootstrap`) and the stack
files' `shipyard:` keys renamed `acme:`. Its plans run in a subprocess whose import path starts
with the copy, so every module reads the copy's Pulumi.yaml, as `pulumi up` in it would. The
control renames the project but not the keys: the plan stops, naming both namespaces.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra import program
from infra.config import (
    check_database_identifier,
    database_identifier,
    parse_stack_config,
    project_name,
)
from tools.paths import REPO_ROOT
from tools.plan.offline import raw_stack_config, run_under_mocks

NEW = "acme"

PLAN = """
import json, sys
from infra.config import ConfigError, PROJECT
from infra.bootstrap_config import APP_PROJECT, BOOTSTRAP_PROJECT, CI_PREFIX
from tools.plan.offline import evaluate_bootstrap, evaluate_stack
try:
    staging = evaluate_stack("staging")
except ConfigError as refused:
    print(json.dumps({"refused": str(refused)}))
    sys.exit(0)
bootstrap = evaluate_bootstrap("shipyard")
def dump(run):
    return [
        {"type": r.type, "name": r.name, "inputs": r.inputs, "urn": r.urn} for r in run.resources
    ]

# What people read when a setting is wrong, produced by the copy's own modules.
import yaml
from infra.network import _enough_zones
from infra.service_declaration import parse_declaration
from scripts.deploy.previous_image import IMAGE_CONFIG_KEY
from scripts.deploy.verify_rollout import check_images, ExpectedService
from scripts.preflight.aws_checks import check_account
from service.messaging.topology import TOPOLOGY
messages = []
try:
    _enough_zones([], 3, ())
except ValueError as error:
    messages.append(str(error))
result = check_account("999999999999", staging.config)
messages += [result.detail, result.fix]
data = yaml.safe_load(open("services.yaml"))
data["services"]["bulk"] = {
    "kind": "worker", "command": ["bulk"], "consumes": ["order-processing"],
    "database": True, "database_connections": 1000,
}
messages += list(parse_declaration(data, TOPOLOGY).sizing_problems(staging.config))
class OtherImage:
    def describe_task_definition(self, taskDefinition):
        return {"taskDefinition": {"containerDefinitions": [{"image": "other"}]}}
try:
    check_images(OtherImage(), [ExpectedService("api", "arn")], "built")
except Exception as error:
    messages.append(str(error))
queue_tags = [
    key for r in staging.resources
    if r.type == "aws:sqs/queue:Queue"  # the topology's queues and the functions' failure queues
    for key in r.inputs.get("tags", {})
]
print(json.dumps({
    "names": [PROJECT, APP_PROJECT, BOOTSTRAP_PROJECT, CI_PREFIX],
    "prefix": staging.config.prefix,
    "staging": dump(staging),
    "bootstrap": dump(bootstrap),
    "image_config_key": IMAGE_CONFIG_KEY,
    "messages": messages,
    "queue_tags": queue_tags,
}, default=str))
"""


def _tracked_copy(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


def _rename(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def _plan(root: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{root / 'platform'}{os.pathsep}{root}"}
    result = subprocess.run(
        [sys.executable, "-c", PLAN], cwd=root, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _tracked_copy(tmp_path_factory.mktemp("renamed"))
    _rename(root / "Pulumi.yaml", "name: shipyard\n", f"name: {NEW}\n")
    bootstrap = root / "platform" / "bootstrap"
    _rename(bootstrap / "Pulumi.yaml", "name: shipyard-bootstrap\n", f"name: {NEW}-bootstrap\n")
    for stack_file in root.glob("Pulumi.*.yaml"):
        _rename(stack_file, "\n  shipyard:", f"\n  {NEW}:")
    _rename(bootstrap / "Pulumi.shipyard.yaml", "\n  shipyard-bootstrap:", f"\n  {NEW}-bootstrap:")
    return root


@pytest.fixture(scope="module")
def renamed_plan(renamed: Path) -> dict:
    return _plan(renamed)


def test_every_project_name_follows_pulumi_yaml(renamed_plan):
    assert renamed_plan["names"] == [NEW, NEW, f"{NEW}-bootstrap", f"{NEW}-ci"]
    assert renamed_plan["prefix"] == f"{NEW}-staging"


def test_the_app_stacks_resources_are_named_after_the_new_project(renamed_plan):
    named = [r for r in renamed_plan["staging"] if isinstance(r["inputs"].get("name"), str)]
    assert len(named) > 20
    text = json.dumps(renamed_plan["staging"])
    assert f"{NEW}-staging" in text
    assert "shipyard-staging" not in text


def test_the_ci_roles_boundary_and_state_keys_follow_the_new_project(renamed_plan):
    roles = [r for r in renamed_plan["bootstrap"] if r["type"] == "aws:iam/role:Role"]
    assert roles
    assert all(r["inputs"]["name"].startswith(f"{NEW}-ci-") for r in roles), [
        r["inputs"]["name"] for r in roles
    ]
    text = json.dumps(renamed_plan["bootstrap"])
    assert f":role/{NEW}-ci-*" in text  # the CI boundary protects the renamed roles
    assert f"{NEW}-staging-*" in text  # deploy roles manage the stack's own roles
    assert f"stacks/{NEW}/staging" in text  # and write its state, under the new project
    assert f"alias/{NEW}-pulumi-secrets-staging" in text
    assert "shipyard-ci" not in text
    assert "stacks/shipyard/" not in text


def test_messages_and_tags_name_the_new_project(renamed_plan):
    """Error messages name the settings as the renamed stack files spell them (`acme:<key>`), and
    the queues' role tag is in the new namespace (the policy pack reads it from the URN)."""
    messages = renamed_plan["messages"]
    expected = [
        f"{NEW}:availability_zones=3",  # network.py
        f"{NEW}:workload_boundary_arn is in account",  # preflight's account check
        f"{NEW}:workload_boundary_arn from that account",
        f"{NEW}:db_instance_class=",  # the declaration's connection count
        f"pulumi config set {NEW}:image_ref",  # verify_rollout.py
    ]
    for words in expected:
        assert any(words in message for message in messages), (words, messages)
    assert not [m for m in messages if "shipyard" in m], messages
    assert renamed_plan["image_config_key"] == f"{NEW}:image_ref"
    tags = renamed_plan["queue_tags"]
    assert f"{NEW}:role" in tags
    assert not [t for t in tags if t.startswith("shipyard:")], tags


def test_control_the_unrenamed_repository_names_its_own_project():
    """The same messages in the repository itself say `shipyard:`: the names above come from
    Pulumi.yaml, not from a literal that happens to match."""
    plan = _plan(REPO_ROOT)
    assert plan["image_config_key"] == "shipyard:image_ref"
    assert any("shipyard:db_instance_class=" in m for m in plan["messages"])
    assert "shipyard:role" in plan["queue_tags"]


def test_control_a_stack_file_left_in_the_old_namespace_is_refused_naming_both(tmp_path):
    root = _tracked_copy(tmp_path)
    _rename(root / "Pulumi.yaml", "name: shipyard\n", f"name: {NEW}\n")
    refused = _plan(root)["refused"]
    assert "`shipyard:`" in refused
    assert f"names the project `{NEW}`" in refused
    assert f"rename them to `{NEW}:<key>`" in refused


def test_the_renamed_database_and_its_user_follow_the_project(renamed_plan):
    (instance,) = [r for r in renamed_plan["staging"] if r["type"] == "aws:rds/instance:Instance"]
    assert (instance["inputs"]["dbName"], instance["inputs"]["username"]) == (NEW, NEW)
    assert not [r["urn"] for r in renamed_plan["staging"] if "shipyard" in r["urn"]]


@pytest.mark.parametrize(
    ("name", "identifier"),
    [
        ("shipyard", "shipyard"),
        ("my-shop", "my_shop"),
        ("a-very-long-project-name", "a_very_long_proj"),
    ],
)
def test_database_identifier_fits_rds_master_username_rules(name, identifier):
    # RDS CreateDBInstance, MasterUsername: 1 to 16 letters, digits or underscores, a letter first.
    assert database_identifier(name) == identifier
    assert re.fullmatch(r"[a-z][a-z0-9_]{0,15}", identifier)


@pytest.mark.parametrize(("name", "refused"), [("user", True), ("select", True), ("users", False)])
def test_a_project_name_postgresql_reserves_is_refused_before_anything(
    tmp_path, monkeypatch, name, refused
):
    (tmp_path / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    if not refused:  # the control: a near miss is accepted
        assert project_name(tmp_path) == name
        check_database_identifier(tmp_path)
        return
    with pytest.raises(ValueError, match=f"`{name}`, a word PostgreSQL reserves"):
        check_database_identifier(tmp_path)
    # ... and the program runs that check before its first resource.
    monkeypatch.setattr(program, "REPO_ROOT", tmp_path)
    run = run_under_mocks(
        lambda: program.build(parse_stack_config(raw_stack_config("staging"), "staging")),
        stack="staging",
        raw_config=raw_stack_config("staging"),
    )
    assert isinstance(run.error, ValueError)
    assert f"`{name}`, a word PostgreSQL reserves" in str(run.error)
    assert [r for r in run.resources if r.type.startswith("aws:")] == []
