"""A stack file read as the engine passes it: strings, JSON for objects, secrets left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.plan.stack_files import OFFLINE_SECRETS, raw_stack_config

STACK_FILE = """\
config:
  aws:region: eu-west-1
  app:count: 3
  app:ratio: 0.5
  app:enabled: true
  app:zones: [a, b]
  app:limits: {cpu: 256}
  app:token:
    secure: AAABAGVuY3J5cHRlZA==
"""


def test_values_reach_the_program_as_the_engine_passes_them(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(STACK_FILE)
    assert raw_stack_config("dev", project_dir=tmp_path) == {
        "aws:region": "eu-west-1",
        "app:count": "3",
        "app:ratio": "0.5",
        "app:enabled": "true",
        "app:zones": '["a", "b"]',
        "app:limits": '{"cpu": 256}',
    }, "encrypted values skipped; stand-ins only for the app stack at the repository root"


def test_overrides_replace_add_and_remove(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(STACK_FILE)
    raw = raw_stack_config(
        "dev", {"app:count": "5", "app:new": "x", "aws:region": None}, project_dir=tmp_path
    )
    assert (raw["app:count"], raw["app:new"]) == ("5", "x")
    assert "aws:region" not in raw


def test_the_app_stack_gets_stand_ins_for_its_encrypted_secrets() -> None:
    raw = raw_stack_config("staging")
    assert OFFLINE_SECRETS.items() <= raw.items()
    assert all("secure" not in value for value in raw.values())


def test_a_missing_stack_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no stack file Pulumi\.nope\.yaml"):
        raw_stack_config("nope", project_dir=tmp_path)
