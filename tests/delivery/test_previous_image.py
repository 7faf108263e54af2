"""The rollback target, computed from a recorded `pulumi stack history --json`."""

from __future__ import annotations

import json

import pytest

from scripts.deploy.errors import DeployError
from scripts.deploy.previous_image import find_previous_image, main
from tests.delivery.support import DATA, recorded

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shipyard@sha256:"
A, B, C, D = (REGISTRY + letter * 64 for letter in "abcd")


def test_after_a_failed_deploy_the_target_is_the_last_image_that_succeeded():
    rollback = find_previous_image(recorded("stack_history.json"))

    assert rollback.current == C  # update 9 tried C and failed
    assert rollback.previous == B
    assert rollback.previous_version == 7


def test_config_only_updates_and_failed_deploys_are_skipped():
    history = [u for u in recorded("stack_history.json") if u["version"] != 9]

    rollback = find_previous_image(history)

    # 8 is a refresh, 7 and 6 kept B, 5 (D) failed: the previous image is A from update 4.
    assert (rollback.current, rollback.previous, rollback.previous_version) == (B, A, 4)


def test_order_in_the_file_does_not_matter():
    history = list(reversed(recorded("stack_history.json")))
    assert find_previous_image(history).previous == B


def test_rolling_back_twice_returns_to_the_image_rolled_back_from():
    history = [u for u in recorded("stack_history.json") if u["version"] != 9]
    rolled_back = {**history[0], "version": 10, "kind": "update", "result": "succeeded"}
    rolled_back["config"] = {
        **rolled_back["config"],
        "shipyard:image_ref": {"value": A, "secret": False},
    }

    assert find_previous_image([rolled_back, *history]).previous == B


def test_a_stack_that_only_ever_ran_one_image_has_nothing_to_roll_back_to():
    history = [u for u in recorded("stack_history.json") if u["version"] in (6, 7, 8)]
    with pytest.raises(DeployError, match="no earlier image"):
        find_previous_image(history)


def test_a_history_without_the_image_setting_is_an_error():
    history = [u for u in recorded("stack_history.json") if u["version"] == 3]
    with pytest.raises(DeployError, match="shipyard:image_ref"):
        find_previous_image(history)


def test_a_tag_is_never_a_rollback_target():
    history = recorded("stack_history.json")
    for update in history:
        if update["version"] == 7:
            update["config"]["shipyard:image_ref"]["value"] = "shipyard:latest"
    with pytest.raises(DeployError, match="not an image reference by digest"):
        find_previous_image(history)


def test_main_sets_the_step_output(github_files):
    code = main(["--history", str(DATA / "stack_history.json")])

    assert code == 0
    assert f"image_ref={B}\n" in github_files()["output"]
    assert f"current_image_ref={C}\n" in github_files()["output"]


def test_main_rejects_something_that_is_not_a_history(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"updates": []}))
    assert main(["--history", str(path)]) == 1


# --- the DIY (S3) backend: every entry has version 0 ------------------------------------------
# FACTS.md (2026-12-07): DIY history entries all have version 0, so only the start time orders
# them. `pulumi stack history --json` prints it as cmd.FormatTime does (pkg/cmd/pulumi/stack/
# stack_history.go: RFC 5424 with milliseconds, UTC). The recording lists the updates of
# stack_history.json with version 0, in an order that is not the order in time.


def test_diy_history_with_version_0_is_ordered_by_start_time():
    history = recorded("stack_history_diy.json")
    assert {u["version"] for u in history} == {0}

    rollback = find_previous_image(history)

    assert rollback.current == C  # the update started last (2026-11-20) tried C
    assert rollback.previous == B
    assert rollback.previous_started == "2026-11-19T10:00:00.000Z"


def test_diy_history_in_any_order_gives_the_same_target():
    history = recorded("stack_history_diy.json")
    answers = {
        (r.current, r.previous)
        for r in (
            find_previous_image(history),
            find_previous_image(list(reversed(history))),
            find_previous_image(sorted(history, key=lambda u: u["message"])),
        )
    }
    assert answers == {(C, B)}


def test_an_entry_without_a_start_time_is_an_error():
    history = recorded("stack_history_diy.json")
    del history[1]["startTime"]
    with pytest.raises(DeployError, match="startTime"):
        find_previous_image(history)


def test_main_names_the_start_time_of_the_target(github_files, capsys):
    assert main(["--history", str(DATA / "stack_history_diy.json")]) == 0
    assert f"image_ref={B}\n" in github_files()["output"]
    assert "2026-11-19T10:00:00.000Z" in capsys.readouterr().err
