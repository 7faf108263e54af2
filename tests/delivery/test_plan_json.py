"""Reading a preview as data: both of Pulumi's machine-readable forms; the sanitised artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation.events import OpType

from scripts.deploy import plan_json
from scripts.deploy.errors import DeployError
from scripts.deploy.plan_json import KNOWN_OPS, load_plan, parse_plan, sanitise
from tests.delivery.support import DATA

PLANS = DATA / "plans"
EVENT_LOG = PLANS / "prod-replace-database.events.jsonl"
DB_URN = (
    "urn:pulumi:prod::shipyard::shipyard:database:Database$aws:rds/instance:Instance"
    "::database-postgres"
)
SENTINEL = "s3cr3t-Sentinel-9f2c7e1d-never-in-an-artifact"


def changed(path: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {
        c.name: (c.action, c.replace_reasons) for c in load_plan(path).changes if c.action != "same"
    }


def test_the_op_vocabulary_is_pulumis() -> None:
    # The SDK's own enum (pulumi.automation.events.OpType mirrors apitype.OpType): nothing missing,
    # nothing invented.
    assert {op.value for op in OpType} == KNOWN_OPS


def test_a_preview_digest_folds_into_one_change_per_resource() -> None:
    plan = load_plan(PLANS / "prod-replace-database.json")
    assert plan.stack == "prod"
    assert plan.finished
    assert changed(PLANS / "prod-replace-database.json") == {
        "database-postgres": ("replace", ("identifier",)),
        "task-definitions-api": ("replace", ("containerDefinitions",)),
        "services-api": ("update", ()),
    }
    database = next(c for c in plan.changes if c.name == "database-postgres")
    assert database.type == "aws:rds/instance:Instance"  # from newState.type
    assert database.urn == DB_URN
    # prod protects the database: Pulumi's refusal is recorded as an error of that resource
    assert [(e.urn, e.is_protection_refusal) for e in plan.errors] == [(DB_URN, True)]


def test_the_event_log_folds_the_three_replacement_steps_into_one() -> None:
    # create-replacement, replace (and its resOutputsEvent), delete-replaced: one replace.
    plan = load_plan(EVENT_LOG)
    assert plan.stack == "prod"
    assert plan.finished
    assert changed(EVENT_LOG) == {"database-postgres": ("replace", ("identifier",))}
    database = next(c for c in plan.changes if c.urn == DB_URN)
    assert database.ops == ("create-replacement", "replace", "delete-replaced")
    assert [e.is_protection_refusal for e in plan.errors] == [True]


def test_both_forms_of_the_same_preview_agree_on_what_is_destroyed() -> None:
    digest = {c.urn: c.action for c in load_plan(PLANS / "prod-replace-database.json").changes}
    events = {c.urn: c.action for c in load_plan(EVENT_LOG).changes}
    assert digest[DB_URN] == events[DB_URN] == "replace"


def test_replacement_reasons_come_from_the_detailed_diff_when_keys_are_absent() -> None:
    step = {
        "op": "replace",
        "urn": DB_URN,
        "newState": {"type": "aws:rds/instance:Instance"},
        "detailedDiff": {
            "storageEncrypted": {"kind": "update-replace", "inputDiff": True},
            "tags": {"kind": "update", "inputDiff": True},
        },
    }
    plan = parse_plan(json.dumps({"steps": [step]}))
    assert plan.changes[0].replace_reasons == ("storageEncrypted",)


def test_a_delete_and_its_type_come_from_the_old_state() -> None:
    assert changed(PLANS / "prod-delete-queue.json") == {
        "messaging-order-notifications": ("delete", ()),
        "messaging-order-notifications-dlq": ("delete", ()),
        "messaging-order-events-to-order-notifications": ("delete", ()),
        "messaging-order-notifications-policy": ("delete", ()),
    }


def test_an_unknown_operation_fails_closed() -> None:
    text = json.dumps({"steps": [{"op": "obliterate", "urn": DB_URN}]})
    with pytest.raises(DeployError, match="unknown Pulumi step operation 'obliterate'"):
        parse_plan(text)


def test_a_cut_off_event_log_is_unfinished() -> None:
    lines = [line for line in EVENT_LOG.read_text().splitlines() if "summaryEvent" not in line]
    assert not parse_plan("\n".join(lines)).finished
    assert parse_plan(EVENT_LOG.read_text()).finished  # control


def test_an_empty_or_missing_plan_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="empty"):
        parse_plan("  \n")
    with pytest.raises(DeployError, match="does not exist"):
        load_plan(tmp_path / "absent.json")
    assert not parse_plan("{}").finished  # a digest without even the stack's step


def _plant(value: Any) -> Any:
    """Put the sentinel into every property of every state, input, output and config map."""
    if isinstance(value, dict):
        planted = {k: _plant(v) for k, v in value.items()}
        for key in ("inputs", "outputs", "config"):
            if key in planted and isinstance(planted[key], dict):
                planted[key] = {**planted[key], "password": SENTINEL, "nested": {"k": SENTINEL}}
        return planted
    if isinstance(value, list):
        return [_plant(v) for v in value]
    return value


@pytest.mark.parametrize(
    "name", ["prod-replace-database.json", "prod-delete-queue.json", EVENT_LOG.name]
)
def test_a_secret_in_the_state_never_reaches_the_artifact(name: str) -> None:
    raw = (PLANS / name).read_text()
    if name.endswith(".jsonl"):
        planted = "\n".join(json.dumps(_plant(json.loads(line))) for line in raw.splitlines())
    else:
        planted = json.dumps(_plant(json.loads(raw)))
    assert planted.count(SENTINEL) >= 4  # control: the raw preview does carry it
    artifact = json.dumps(sanitise(planted, stack="prod"))
    assert SENTINEL not in artifact
    for kept_out in ("inputs", "outputs", "oldState", "newState", "config", "message"):
        assert f'"{kept_out}"' not in artifact
    # ...and it still says everything the gate needs
    assert DB_URN in artifact or "messaging-order-notifications" in artifact


def test_the_artifact_reads_back_as_the_same_plan() -> None:
    original = load_plan(PLANS / "prod-replace-database.json")
    again = parse_plan(json.dumps(original.to_artifact()))
    assert again.changes == original.changes
    assert again.finished
    assert again.stack == "prod"
    assert [e.is_protection_refusal for e in again.errors] == [True]


def test_sanitising_refuses_a_plan_of_another_stack() -> None:
    with pytest.raises(DeployError, match="is for stack 'staging', not 'prod'"):
        sanitise((PLANS / "staging-replace-bucket.json").read_text(), stack="prod")


def test_the_command_writes_only_the_artifact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "plan-prod.json"
    assert (
        plan_json.main(["--stack", "prod", "--input", str(EVENT_LOG), "--output", str(output)]) == 0
    )
    document = json.loads(output.read_text())
    assert document["format"] == "shipyard-plan/1"
    assert set(document) == {"format", "stack", "finished", "errors", "steps"}
    assert {frozenset(step) for step in document["steps"]} == {
        frozenset({"urn", "type", "ops", "replaceReasons"})
    }
    assert "no inputs or outputs" in capsys.readouterr().out
