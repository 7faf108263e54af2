"""Every Python a workflow step runs finds its imports where that step runs it.

Walks every step of every workflow and of the project's composite actions. A step's command runs
either on the runner's own Python (`python3`/`python`: the hosted runner's system Python, or the
one actions/setup-python puts on the PATH; neither has the project's packages, since `make
install` installs into `.venv`) or on the project's virtualenv (`.venv/bin/python`, which exists
only after the job's set-up action ran). For each module a step runs (`-m`), and for inline code
(`-c`), the test follows every `import` the code contains, including imports inside functions
(lazy imports run too), through the project's own modules, and checks the third-party ones against
what that Python has: nothing but the standard library on the runner's Python; an installed
package in the virtualenv.

FACTS (2026-12-07): the ubuntu-24.04 runner's own Python has no boto3 (issue 21, item 2). The
controls at the end show the walk catches a lazy import and a virtualenv used before set-up.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.delivery.support import REPO_ROOT, WORKFLOWS, load_workflow

SETUP_ACTION = "$/.github/actions/setup"
VENV_PYTHON = ".venv/bin/python"
RUNNER_PYTHONS = ("python3", "python")
# The project's own top-level packages (editable install / pytest's pythonpath): followed, not
# looked up as third-party.
PROJECT_ROOTS = {"scripts": REPO_ROOT, "tools": REPO_ROOT, "service": REPO_ROOT}
PROJECT_ROOTS["infra"] = REPO_ROOT / "platform"
# Modules other helpers deliver under a fixed contract (CONTRACTS.md, C3): a step may name one
# before its branch is merged; the check then runs once it exists.
CONTRACT_MODULES = {"scripts.preflight": "C3, i21-preflight"}


@dataclass(frozen=True)
class PythonRun:
    where: str  # workflow/job/step
    python: str  # "runner" or "venv"
    module: str | None  # -m MODULE
    code: str | None  # -c CODE
    set_up: bool  # the job's set-up action ran before this step


# --- reading the commands ---------------------------------------------------------------------

_PYTHON_COMMAND = re.compile(
    r"(?P<python>(?:\./)?\.venv/bin/python3?|\bpython3?)\s+(?P<args>-[mc]\s+(?:\"[^\"]*\"|'[^']*'|\S+))"
)


def python_runs(script: str) -> Iterator[tuple[str, str, str]]:
    """(python, flag, value) for each `python -m X` / `python -c CODE` in a shell script."""
    joined = script.replace("\\\n", " ")
    for match in _PYTHON_COMMAND.finditer(joined):
        python = "venv" if ".venv/" in match["python"] else "runner"
        flag, value = shlex.split(match["args"])[:2]
        yield python, flag, value


_ANY_PYTHON = re.compile(r"(?:\./)?(?:\.venv/bin/)?\bpython3?(?:\.\d+)?\b(?![-.\w])")


def unread_python_commands(script: str) -> list[str]:
    """Python invocations this walk cannot follow (a script file, stdin, `-I -m`...): each must
    be rewritten as `-m MODULE` or `-c CODE`, or taught to the walk."""
    joined = script.replace("\\\n", " ")
    understood = {match.start() for match in _PYTHON_COMMAND.finditer(joined)}
    return [
        joined[match.start() : match.start() + 60]
        for match in _ANY_PYTHON.finditer(joined)
        if match.start() not in understood
    ]


def _steps_of(
    name: str, job_id: str, steps: list[dict[str, Any]], *, set_up: bool = False
) -> Iterator[PythonRun]:
    for index, step in enumerate(steps):
        where = f"{name}/{job_id}/{step.get('name', index)}"
        if step.get("uses", "") == SETUP_ACTION:
            set_up = True
        for python, flag, value in python_runs(str(step.get("run", ""))):
            yield PythonRun(
                where=where,
                python=python,
                module=value if flag == "-m" else None,
                code=value if flag == "-c" else None,
                set_up=set_up,
            )


def every_python_run(workflows: Path = WORKFLOWS) -> list[PythonRun]:
    runs: list[PythonRun] = []
    for path in sorted(workflows.glob("*.yml")):
        for job_id, job in load_workflow_at(path)["jobs"].items():
            runs.extend(_steps_of(path.name, job_id, job.get("steps", [])))
    for path in sorted((REPO_ROOT / ".github" / "actions").glob("*/action.yml")):
        steps = yaml.safe_load(path.read_text(encoding="utf-8"))["runs"]["steps"]
        # A composite action's own steps run wherever it is used: on the runner's Python.
        runs.extend(_steps_of(str(path.relative_to(REPO_ROOT)), "(composite)", steps))
    return runs


def load_workflow_at(path: Path) -> dict[str, Any]:
    if path.parent == WORKFLOWS:
        return load_workflow(path.name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


# --- following the imports ----------------------------------------------------------------------


def _source_of(module: str) -> Path | None:
    root = module.split(".")[0]
    base = PROJECT_ROOTS.get(root)
    if base is None:
        return None
    path = base.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports_in(tree: ast.AST, package: str) -> set[str]:
    """Every module an import statement anywhere in the tree names (functions included)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # `from package import module` imports a module, not only a name.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name}


def third_party_imports(module: str | None, code: str | None) -> tuple[set[str], set[str]]:
    """(third-party top-level names, missing project modules) that running it may import."""
    pending: list[tuple[str, ast.AST]] = []
    missing: set[str] = set()
    if code is not None:
        pending.append(("__main__", ast.parse(code)))
    if module is not None:
        source = _source_of(module)
        if source is None:
            missing.add(module)
        else:
            pending.append((module, ast.parse(source.read_text(encoding="utf-8"))))
    seen: set[str] = {module} if module else set()
    third_party: set[str] = set()
    while pending:
        name, tree = pending.pop()
        package = name if name.endswith("__init__") else name.rpartition(".")[0] or name
        for imported in _imports_in(tree, package):
            root = imported.split(".")[0]
            if root in sys.stdlib_module_names or root == "__future__":
                continue
            if root not in PROJECT_ROOTS:
                third_party.add(root)
                continue
            # A package's __init__ runs first for every module under it.
            parts = imported.split(".")
            for depth in range(1, len(parts) + 1):
                prefix = ".".join(parts[:depth])
                if prefix in seen:
                    continue
                source = _source_of(prefix)
                if source is None:
                    if depth == len(parts) and depth > 1 and _source_of(".".join(parts[:-1])):
                        continue  # `from pkg.module import name`: a name, not a module
                    missing.add(prefix)
                    continue
                seen.add(prefix)
                pending.append((prefix, ast.parse(source.read_text(encoding="utf-8"))))
    return third_party, missing


def problems(run: PythonRun) -> list[str]:
    if run.module in CONTRACT_MODULES and _source_of(run.module) is None:
        return []  # checked once the module exists (test below names it)
    third_party, missing = third_party_imports(run.module, run.code)
    what = f"-m {run.module}" if run.module else "-c ..."
    found = []
    if missing:
        found.append(f"{run.where}: {what} imports {sorted(missing)}, which do not exist")
    if run.python == "runner" and third_party:
        found.append(
            f"{run.where}: {what} runs on the runner's own Python, which has only the standard "
            f"library, but imports {sorted(third_party)}: run it with {VENV_PYTHON} after the "
            f"set-up action ({SETUP_ACTION})"
        )
    if run.python == "venv":
        if not run.set_up:
            found.append(f"{run.where}: {VENV_PYTHON} before the job's set-up action made it")
        absent = sorted(name for name in third_party if importlib.util.find_spec(name) is None)
        if absent:
            found.append(f"{run.where}: {what} imports {absent}, not installed by `make install`")
    return found


# --- the checks ---------------------------------------------------------------------------------

RUNS = every_python_run()


def test_the_walk_sees_every_kind_of_python_step():
    kinds = {(run.python, run.module is not None) for run in RUNS}
    assert ("venv", True) in kinds
    assert ("runner", True) in kinds
    modules = {run.module for run in RUNS}
    assert len(modules) >= 15, sorted(m for m in modules if m)
    assert "scripts.deploy.existing_image" in modules


@pytest.mark.parametrize("run", RUNS, ids=lambda run: f"{run.where}:{run.module or '-c'}")
def test_every_python_step_finds_its_imports_where_it_runs(run):
    assert problems(run) == []


def test_every_python_command_in_a_step_is_one_the_walk_follows():
    unread = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_id, job in load_workflow_at(path)["jobs"].items():
            for step in job.get("steps", []):
                unread += [
                    f"{path.name}/{job_id}: {c}"
                    for c in unread_python_commands(step.get("run", ""))
                ]
    for path in sorted((REPO_ROOT / ".github" / "actions").glob("*/action.yml")):
        for step in yaml.safe_load(path.read_text(encoding="utf-8"))["runs"]["steps"]:
            unread += [f"{path}: {c}" for c in unread_python_commands(step.get("run", ""))]
    assert unread == []


def test_control_a_script_file_or_stdin_is_reported_as_unread():
    assert unread_python_commands("python3 tools/x.py") == ["python3 tools/x.py"]
    assert len(unread_python_commands("cat f | .venv/bin/python - <<EOF\nimport boto3\nEOF")) == 1
    assert unread_python_commands(".venv/bin/python -m scripts.deploy.smoke") == []


@pytest.mark.parametrize("module", sorted(CONTRACT_MODULES))
def test_a_contract_module_named_by_a_step_is_checked_once_it_exists(module):
    if _source_of(module) is None:
        pytest.skip(f"{module} arrives with {CONTRACT_MODULES[module]}; checked after the merge")
    named = [run for run in RUNS if run.module == module]
    assert named
    assert all(run.python == "venv" and run.set_up for run in named)


# --- controls: the walk fails on what broke the first deploy -------------------------------------


def test_control_existing_image_on_the_runners_python_is_caught():
    # deploy.yml before issue 21: `python3 -m scripts.deploy.existing_image`, boto3 imported
    # lazily inside main().
    (run,) = list(
        _steps_of(
            "deploy.yml",
            "image",
            [{"name": "existing", "run": "python3 -m scripts.deploy.existing_image --tag x"}],
        )
    )
    assert run.python == "runner"
    (problem,) = problems(run)
    assert "['boto3']" in problem
    assert "runner's own Python" in problem


def test_control_the_virtualenv_before_the_set_up_action_is_caught():
    steps = [
        {"name": "too early", "run": ".venv/bin/python -m scripts.deploy.image_ref check x"},
        {"uses": SETUP_ACTION},
        {"name": "fine", "run": ".venv/bin/python -m scripts.deploy.image_ref check x"},
    ]
    early, late = _steps_of("w.yml", "j", steps)
    assert any("before the job's set-up action" in p for p in problems(early))
    assert problems(late) == []


def test_control_inline_code_and_project_imports_are_followed():
    run = PythonRun(
        "w/j/s", "runner", None, "import json\nfrom scripts.deploy import pull_group", False
    )
    (problem,) = problems(run)
    assert "httpx" in problem
    (gone,) = problems(PythonRun("w/j/s", "venv", "scripts.deploy.no_such_step", None, True))
    assert "do not exist" in gone


def test_commands_are_read_across_continued_lines_and_quotes():
    script = (
        'x="$(.venv/bin/python -m scripts.deploy.stack_outputs \\\n  f url)"\n'
        'python3 -c "import sys"'
    )
    assert list(python_runs(script)) == [
        ("venv", "-m", "scripts.deploy.stack_outputs"),
        ("runner", "-c", "import sys"),
    ]
