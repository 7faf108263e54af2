"""`service/` is exactly what the image runs: it imports no development code and no package that
only the development environment installs.

Two rules, each checked over every module the build context sends to the image:
- no import of the repository's other top-level packages (`tools`, `tests`, `scripts`, the Pulumi
  program's `infra`, the policy pack): they are not in the image, so such an import fails there;
- no import of a distribution pinned in requirements/dev.txt but not in requirements/runtime.txt
  (pytest, moto, pulumi, ...): the image installs runtime.txt only.
Each rule has a control: a module that breaks it is caught.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys

import pytest

from tests.delivery.support import REPO_ROOT
from tests.delivery.test_dockerfile import (
    _dockerignore_rules,
    _repository_files,
    _sent_to_builder,
)
from tests.utils.pins import normalise, pins, read_lock

OUR_OTHER_PACKAGES = {"tools", "tests", "scripts", "infra", "shipyard_policies"}


def _imported_top_levels(source: str) -> set[str]:
    """Top-level names of every absolute import a module runs, including ones inside functions
    (imports under `if TYPE_CHECKING:` never run: type stubs may live in the dev group)."""
    names: set[str] = set()
    for node in _executed_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _executed_nodes(tree: ast.AST) -> list[ast.AST]:
    nodes, pending = [], [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                pending.extend(child.orelse)
            else:
                pending.append(child)
    return nodes


def _development_only_modules() -> set[str]:
    """Import names that come only from distributions the image does not install."""
    runtime = set(pins(read_lock("runtime")))
    development_only = set(pins(read_lock("dev"))) - runtime
    modules = set()
    for module, distributions in importlib.metadata.packages_distributions().items():
        owners = {normalise(d) for d in distributions}
        if owners & development_only and not owners & runtime:
            modules.add(module)
    return modules


def _image_modules() -> dict[str, str]:
    rules = _dockerignore_rules()
    return {
        path: (REPO_ROOT / path).read_text()
        for path in _repository_files()
        if path.endswith(".py") and _sent_to_builder(path, rules) and (REPO_ROOT / path).exists()
    }


def _violations(modules: dict[str, str], forbidden: set[str]) -> list[str]:
    return sorted(
        f"{path} imports {name}"
        for path, source in modules.items()
        for name in _imported_top_levels(source) & forbidden
    )


def test_the_image_holds_service_code_only():
    modules = _image_modules()
    assert "service/app.py" in modules
    assert all(path.startswith("service/") for path in modules)
    assert not [p for p in modules if p.startswith("service/local/")]


def test_service_imports_none_of_the_development_packages():
    assert _violations(_image_modules(), OUR_OTHER_PACKAGES) == []


def test_service_imports_no_development_only_dependency():
    forbidden = _development_only_modules() - set(sys.stdlib_module_names)
    assert {"pytest", "moto", "pulumi"} <= forbidden  # the rule knows what it forbids
    assert not {"sqlalchemy", "fastapi", "boto3"} & forbidden
    assert _violations(_image_modules(), forbidden) == []


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("from tools.local.processes import free_port", "tools"),
        ("def f():\n    import tests.utils.users\n", "tests"),
        ("import moto", "moto"),
        ("from pulumi import Output", "pulumi"),
        (
            "import typing\nif typing.TYPE_CHECKING:\n    pass\nelse:\n    import moto\n",
            "moto",
        ),
    ],
)
def test_control_a_module_that_breaks_a_rule_is_caught(source, caught):
    forbidden = OUR_OTHER_PACKAGES | _development_only_modules()
    assert _violations({"service/x.py": source}, forbidden) == [f"service/x.py imports {caught}"]


def test_type_checking_imports_are_not_run_in_the_image():
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mypy_boto3_sns\n"
    assert _imported_top_levels(source) == {"typing"}


def test_relative_imports_inside_service_are_not_mistaken_for_other_packages():
    assert _imported_top_levels("from .tools import x\nfrom . import tests") == set()
