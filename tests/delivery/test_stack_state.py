"""Finding the migrate task definition's URN in a recorded `pulumi stack export`."""

from __future__ import annotations

import copy

import pytest

from scripts.deploy.errors import DeployError
from scripts.deploy.stack_state import find_task_definition_urn, main
from tests.delivery.support import DATA, recorded

MIGRATE_URN = (
    "urn:pulumi:staging::shipyard::shipyard:platform:Migrations"
    "$aws:ecs/taskDefinition:TaskDefinition::migrate-task"
)


def test_the_task_definition_named_by_the_output_is_found():
    assert find_task_definition_urn(recorded("stack_export.json")) == MIGRATE_URN


def test_a_new_stack_without_the_output_has_no_urn():
    state = recorded("stack_export.json")
    del state["deployment"]["resources"][0]["outputs"]["migrate_task_definition_arn"]
    assert find_task_definition_urn(state) is None


def test_a_revision_that_lags_the_output_is_matched_by_family():
    state = recorded("stack_export.json")
    migrate = state["deployment"]["resources"][-1]["outputs"]
    migrate["arn"] = migrate["arn"].replace(":12", ":11")
    assert find_task_definition_urn(state) == MIGRATE_URN


def test_an_ambiguous_state_is_an_error_that_says_what_to_do():
    state = recorded("stack_export.json")
    duplicate = copy.deepcopy(state["deployment"]["resources"][-1])
    duplicate["urn"] += "-copy"
    state["deployment"]["resources"].append(duplicate)
    with pytest.raises(DeployError, match="found 2; run `pulumi refresh"):
        find_task_definition_urn(state)


def test_something_else_than_an_export_is_refused():
    with pytest.raises(DeployError, match="pulumi stack export"):
        find_task_definition_urn({"resources": []})


def test_main_prints_the_urn(capsys):
    assert main(["migrate-urn", "--state", str(DATA / "stack_export.json")]) == 0
    assert capsys.readouterr().out.strip() == MIGRATE_URN
