"""The project installs like a Python project: `make install` puts its packages on the virtualenv's
path, so no module edits `sys.path` — except the Pulumi program's entry points, which Pulumi runs
from platform/ (and platform/bootstrap/) with `main:` rather than as an installed package.

- every package pyproject.toml installs exists, and imports from any working directory;
- pytest adds nothing to the path (`pythonpath` unset);
- no module outside the allowed entry points changes `sys.path`; a control shows an edit is caught.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.delivery.support import REPO_ROOT
from tests.delivery.test_dockerfile import _repository_files

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGE_FOLDERS = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]

# Pulumi runs these with the working directory set to their folder (`main: platform/`).
ALLOWED_PATH_EDITS = {"platform/__main__.py", "platform/bootstrap/__main__.py"}


_MUTATORS = {"insert", "append", "extend", "remove", "pop", "clear"}


def _is_sys_path(node: ast.expr) -> bool:
    if isinstance(node, ast.Subscript):  # sys.path[:0] = [...]
        node = node.value
    return ast.unparse(node) == "sys.path"


def path_edits(source: str) -> list[int]:
    """Line numbers where a module changes `sys.path` (a mutating call, or an assignment)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            edits = node.func.attr in _MUTATORS and _is_sys_path(node.func.value)
        elif isinstance(node, ast.Assign):
            edits = any(_is_sys_path(target) for target in node.targets)
        elif isinstance(node, ast.AugAssign):
            edits = _is_sys_path(node.target)
        else:
            continue
        if edits:
            lines.append(node.lineno)
    return lines


def test_every_installed_package_exists_and_imports_from_anywhere(tmp_path: Path) -> None:
    names = [Path(folder).name for folder in PACKAGE_FOLDERS]
    assert {"service", "tools", "scripts", "infra", "shipyard_policies"} == set(names)
    for folder in PACKAGE_FOLDERS:
        assert (REPO_ROOT / folder / "__init__.py").is_file(), folder
    # platform/ itself must never become a package: it would shadow the standard library's.
    assert not (REPO_ROOT / "platform" / "__init__.py").exists()
    probe = "import importlib, sys; [importlib.import_module(n) for n in sys.argv[1:]]"
    result = subprocess.run(
        [sys.executable, "-c", probe, *names, "tests.utils"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"run `make install`?\n{result.stderr}"


def test_pytest_adds_nothing_to_the_path() -> None:
    assert "pythonpath" not in PYPROJECT["tool"]["pytest"]["ini_options"]


def test_no_module_edits_sys_path_but_the_pulumi_entry_points() -> None:
    found = {
        path: lines
        for path in _repository_files()
        if path.endswith(".py")
        and (REPO_ROOT / path).is_file()
        and (lines := path_edits((REPO_ROOT / path).read_text(encoding="utf-8")))
    }
    assert set(found) <= ALLOWED_PATH_EDITS, found


@pytest.mark.parametrize(
    "source",
    [
        "import sys\nsys.path.insert(0, 'platform')\n",
        "import sys\nsys.path.append('.')\n",
        "import sys\nsys.path[:0] = ['.']\n",
        "import sys\nsys.path = ['.', *sys.path]\n",
        "import sys\nsys.path += ['.']\n",
    ],
)
def test_control_a_path_edit_is_caught(source: str) -> None:
    assert path_edits(source) == [2]
    reads = "import sys\nprint(sys.path[0], sys.path.index('.'))\nentries = list(sys.path)\n"
    assert path_edits(reads) == []
