"""The function's package runs on its own, the way the Pulumi program ships it: its folder alone at
the root of the archive, on Lambda's Python with boto3 and nothing of the service."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3

from service.messaging.topology import ORDER_ALERTS_FUNCTION
from tools.local.function_runner import declared_topology
from tools.paths import REPO_ROOT

FUNCTION = declared_topology().function(ORDER_ALERTS_FUNCTION)

PROBE = textwrap.dedent(
    """
    import importlib, importlib.util, json, sys
    assert importlib.util.find_spec("service") is None, "the service must not be importable here"
    module_name, _, attribute = sys.argv[1].rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    heavy = sorted(
        name for name in ("fastapi", "sqlalchemy", "pydantic", "starlette", "uvicorn", "service")
        if name in sys.modules
    )
    try:
        handler({"Records": []}, None)
        outcome = "returned"
    except Exception as exc:
        outcome = type(exc).__name__
    print(json.dumps({"heavy": heavy, "outcome": outcome}))
    """
)


def run_probe_alone(archive_root: Path) -> subprocess.CompletedProcess[str]:
    """Run PROBE against the function's handler from an unpacked archive, on Lambda's path.

    Lambda's path: the archive's root first (`-c` puts the working directory there), then the
    runtime's boto3 (PYTHONPATH, the only variable passed). -S skips site-packages and its .pth
    files, so neither the repository nor the project installed editable in .venv is on the path.
    """
    return subprocess.run(
        [sys.executable, "-S", "-c", PROBE, FUNCTION.handler],
        cwd=archive_root,
        env={"PYTHONPATH": str(Path(boto3.__file__).parents[1])},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_package_alone_imports_and_runs_with_only_the_standard_library_and_boto3(
    tmp_path: Path,
) -> None:
    source = REPO_ROOT / FUNCTION.source_dir
    archive_root = tmp_path / "archive"
    shutil.copytree(
        source, archive_root / FUNCTION.archive_folder, ignore=shutil.ignore_patterns("__pycache__")
    )
    result = run_probe_alone(archive_root)

    assert result.returncode == 0, result.stderr
    last_line = result.stdout.strip().splitlines()[-1]
    assert last_line == '{"heavy": [], "outcome": "MalformedEventError"}'


def test_the_declared_package_and_entry_point_exist() -> None:
    assert FUNCTION.handler == "notifications.handler.handler"
    assert FUNCTION.source_dir.as_posix() == "service/notifications"
    source = REPO_ROOT / FUNCTION.source_dir
    module = FUNCTION.entry_point.rpartition(".")[0]
    assert (source / f"{module}.py").is_file()
    assert (source / "__init__.py").is_file()
    # Only Python modules: everything in the folder is shipped.
    shipped = {p.name for p in source.iterdir() if p.name != "__pycache__"}
    assert all(name.endswith(".py") for name in shipped), shipped
