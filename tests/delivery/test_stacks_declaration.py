"""stacks.yaml, the one list of app stacks, and its reader (scripts/deploy/stacks.py).

The reader runs on the runner's own Python without a YAML parser, so it is checked against one:
what it reads must be what YAML reads. The list must agree with the stack files beside it and with
the bootstrap's example (`deploy_environments`, `preview_stacks`), and every bad line is refused
with its line number and what to write instead.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from infra.bootstrap_config import parse_bootstrap_config
from scripts.deploy.errors import DeployError
from scripts.deploy.stacks import DECLARATION, main, matrices, read_stacks
from tools.paths import REPO_ROOT
from tools.plan.stack_files import raw_stack_config

BOOTSTRAP_DIR = REPO_ROOT / "platform" / "bootstrap"


def test_the_reader_reads_what_a_yaml_parser_reads():
    entries = yaml.safe_load((REPO_ROOT / DECLARATION).read_text())["stacks"]
    stacks = read_stacks()
    assert [
        {k: getattr(s, k) for k in ("stack", "environment", "wave", "smoke", "pull_requests")}
        for s in stacks
    ] == entries
    for stack in stacks:
        document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack.stack}.yaml").read_text())
        assert stack.region == document["config"]["aws:region"], stack.stack


def test_every_stack_file_beside_it_is_declared():
    files = {p.name.split(".")[1] for p in REPO_ROOT.glob("Pulumi.*.yaml")}
    assert files == {s.stack for s in read_stacks()}


def test_the_environments_and_pull_request_stacks_agree_with_the_example_bootstrap():
    raw = raw_stack_config("shipyard", project_dir=BOOTSTRAP_DIR)
    bootstrap = parse_bootstrap_config(raw, "shipyard")
    stacks = read_stacks()
    assert {t.environment: t.stack for t in bootstrap.deploy_targets} == {
        s.environment: s.stack for s in stacks
    }
    assert set(bootstrap.preview_stacks) == {s.stack for s in stacks if s.pull_requests}


def test_the_matrices_keep_the_promotion_order_and_each_stacks_variables():
    outputs = {name: json.loads(value) for name, value in matrices().items()}
    assert [r["stack"] for r in outputs["first"]] == ["staging"]
    assert [r["stack"] for r in outputs["second"]] == ["prod"]
    assert [(r["environment"], r["key"], r["smoke"]) for r in outputs["all"]] == [
        ("staging", "STAGING", "full"),
        ("production", "PROD", "read-only"),
    ]


def test_the_command_prints_one_github_output_line_per_matrix(capsys):
    assert main(["matrices", "--stack", "staging"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.partition("=")[0] for line in lines]
    assert names == ["all", "pull_requests", "first", "second", "selected"]
    assert all(isinstance(json.loads(line.partition("=")[2]), list) for line in lines)


def _copy(tmp_path: Path, text: str) -> Path:
    for path in REPO_ROOT.glob("Pulumi*.yaml"):
        shutil.copy2(path, tmp_path / path.name)
    (tmp_path / DECLARATION).write_text(text)
    return tmp_path


_STAGING = '{"stack": "staging", "environment": "staging", "wave": 1, "smoke": "full", "pull_requests": true}'  # noqa: E501
_PROD = '{"stack": "prod", "environment": "production", "wave": 2, "smoke": "read-only", "pull_requests": false}'  # noqa: E501


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([_STAGING.replace('"wave": 1', '"wave": 3')], "line 2: wave 3 is not one of [1, 2]"),
        ([_STAGING.replace('"smoke": "full"', '"smoke": "all"')], "smoke 'all' is not one of"),
        ([_STAGING.replace('"stack"', '"name"')], "line 2: an entry has exactly the keys"),
        ([_STAGING.replace("true}", "true")], "line 2: expected `stacks:`"),
        ([_STAGING.replace('"wave": 1,', '"wave": 1')], "line 2: not one JSON object"),
        ([_STAGING, _STAGING], "stack ['staging'] appears more than once"),
        ([_PROD], "no stack in wave 1"),
        ([_STAGING.replace('"staging", "wave"', '"release", "wave"')], "the image job's own"),
        (
            [_STAGING.replace('"stack": "staging"', '"stack": "qa"')],
            "Pulumi.qa.yaml does not exist",
        ),
        ([_STAGING.replace('"stack": "staging"', '"stack": "Prod"')], "not a lower-case name"),
        ([], "lists no stack"),
    ],
)
def test_a_bad_declaration_is_refused_naming_the_line_and_the_fix(tmp_path, capsys, lines, message):
    root = _copy(tmp_path, "stacks:\n" + "".join(f"  - {line}\n" for line in lines))
    with pytest.raises(DeployError) as refused:
        read_stacks(root)
    assert message in str(refused.value)
    # On a runner: an error annotation and exit status 1, never a traceback.
    assert main(["matrices", "--root", str(root)]) == 1
    assert capsys.readouterr().err.startswith("::error::stacks.yaml")


def test_control_the_declaration_as_written_is_accepted(tmp_path):
    root = _copy(tmp_path, f"# comment\nstacks:\n  - {_STAGING}\n\n  - {_PROD}\n")
    assert [s.stack for s in read_stacks(root)] == ["staging", "prod"]
