"""A plan made against one state is refused, before anything changes, once the state moved on.

Recorded states (tests/delivery/data/state/): `pulumi stack export` output before and after
another update, and the same checkpoint as the DIY backend stores it
(`.pulumi/stacks/<project>/<stack>.json`, `{"checkpoint": {"latest": ...}}`).
"""

from __future__ import annotations

import json

import pytest

from scripts.deploy import state_identity
from scripts.deploy.errors import DeployError
from scripts.deploy.state_identity import check_unchanged, identity_of
from tests.delivery.support import DATA, recorded

BEFORE = "state/prod-export-before.json"
AFTER = "state/prod-export-after-another-update.json"


def test_the_same_state_has_the_same_identity_however_it_was_read():
    export = identity_of(recorded(BEFORE))
    diy_file = identity_of(recorded("state/prod-diy-checkpoint-before.json"))
    assert export == diy_file
    assert export.resources == 2
    assert export.saved_at == "2026-12-07T09:14:03.412934Z"
    assert check_unchanged(export, diy_file).startswith("the state is still the one")


def test_a_state_changed_by_another_update_is_refused_with_the_way_to_re_plan():
    with pytest.raises(DeployError) as refused:
        check_unchanged(identity_of(recorded(BEFORE)), identity_of(recorded(AFTER)))
    message = str(refused.value)
    assert "changed since this plan was made" in message
    assert "2026-12-07T09:14:03" in message
    assert "2026-12-07T11:02:41" in message
    assert "Nothing was changed" in message
    assert "Re-plan" in message


def test_control_a_change_inside_a_resource_alone_changes_the_identity():
    changed = recorded(BEFORE)
    changed["deployment"]["resources"][1]["outputs"]["fifoQueue"] = False
    assert identity_of(changed) != identity_of(recorded(BEFORE))


def test_the_identity_carries_no_state():
    text = json.dumps(identity_of(recorded(BEFORE)).__dict__)
    for value in ("orders-dlq", "123456789012", "AQICAHh0", "fifoQueue"):
        assert value not in text


def test_an_empty_stack_and_a_malformed_file_are_told_apart():
    never_deployed = identity_of({"version": 3, "deployment": None})
    assert never_deployed == identity_of({"version": 3, "checkpoint": {"latest": None}})
    assert never_deployed.resources == 0
    assert never_deployed != identity_of(recorded(BEFORE))
    with pytest.raises(DeployError, match="pulumi stack export"):
        identity_of({"resources": []})


def test_the_command_records_then_refuses_a_moved_state(tmp_path, capsys):
    record = tmp_path / "state.json"
    before, after = str(DATA / BEFORE), str(DATA / AFTER)
    assert state_identity.main(["record", "--state", before, "--output", str(record)]) == 0
    assert state_identity.main(["check", "--state", before, "--recorded", str(record)]) == 0
    assert state_identity.main(["check", "--state", after, "--recorded", str(record)]) == 1
    assert "::error::the stack's state changed" in capsys.readouterr().out
    assert state_identity.main(["check", "--state", after]) == 1
