"""The harness uses Pulumi's exported API, and lists in one module what it uses beyond it."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import pulumi.runtime
from pulumi.runtime import rpc

from tools.plan import pulumi_internals
from tools.plan.pulumi_internals import CHECKED_AGAINST, plain

PLAN = Path(pulumi_internals.__file__).parent
INTERNALS = Path(pulumi_internals.__file__)
EXPORTED = set(pulumi.runtime.__all__) - {"rpc"}  # `rpc` is exported as a module, not an API


def beyond_the_api(source: str) -> list[str]:
    """The Pulumi names `source` uses that `pulumi.runtime` does not export (or underscored)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulumi"):
            module = node.module or ""
            names = [alias.name for alias in node.names]
            if module.startswith("pulumi.runtime."):
                found += [f"{module}.{name}" for name in names]
            elif module == "pulumi.runtime":
                found += [f"{module}.{n}" for n in names if n not in EXPORTED]
            found += [f"{module}.{n}" for n in names if n.startswith("_")]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("pulumi.runtime.")]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and ast.unparse(node.value) == "pulumi.runtime"
            and node.attr not in EXPORTED
        ):
            found.append(ast.unparse(node))
    return sorted(set(found))


def test_the_checker_catches_each_way_of_reaching_past_the_api() -> None:
    """Control: what the harness used before (and the ways around it) would be flagged."""
    assert beyond_the_api("from pulumi.runtime.sync_await import _sync_await") == [
        "pulumi.runtime.sync_await._sync_await"
    ]
    assert beyond_the_api("from pulumi.runtime import rpc, settings, set_mocks") == [
        "pulumi.runtime.rpc",
        "pulumi.runtime.settings",
    ]
    assert beyond_the_api("import pulumi.runtime.stack") == ["pulumi.runtime.stack"]
    assert beyond_the_api("x = pulumi.runtime.rpc._special_sig_key") == ["pulumi.runtime.rpc"]
    assert beyond_the_api("from pulumi import _types") == ["pulumi._types"]
    assert beyond_the_api("pulumi.runtime.set_mocks(m); pulumi.runtime.test(f)()") == []


def test_only_pulumi_internals_reaches_past_pulumis_exported_api() -> None:
    offenders = {
        str(path.relative_to(PLAN)): names
        for path in sorted(PLAN.rglob("*.py"))
        if path != INTERNALS and (names := beyond_the_api(path.read_text()))
    }
    assert offenders == {}, "import these through tools/plan/pulumi_internals.py, with the reason"


def test_each_name_pulumi_internals_uses_is_listed_with_its_reason() -> None:
    used = beyond_the_api(INTERNALS.read_text())
    assert used, "the checker sees pulumi_internals' own imports"
    docstring = pulumi_internals.__doc__ or ""
    unlisted = [name for name in used if f"`{name.rsplit('.', 1)[1]}`" not in docstring]
    assert unlisted == []


def test_the_names_were_checked_against_the_installed_pulumi() -> None:
    installed = importlib.metadata.version("pulumi")
    assert installed == CHECKED_AGAINST, (
        f"pulumi is now {installed}: re-read each name listed in tools/plan/pulumi_internals.py "
        f"(checked against {CHECKED_AGAINST}) in the new SDK, then move CHECKED_AGAINST"
    )


def test_plain_unwraps_secrets_at_any_depth_and_nothing_else() -> None:
    wrapped = {
        "password": rpc.wrap_rpc_secret("hunter2"),
        "nested": [{"token": rpc.wrap_rpc_secret({"inner": rpc.wrap_rpc_secret(1)})}],
        "plain": {"a": [1, "b"]},
    }
    assert plain(wrapped) == {
        "password": "hunter2",
        "nested": [{"token": {"inner": 1}}],
        "plain": {"a": [1, "b"]},
    }
    assert rpc.is_rpc_secret(wrapped["password"]), "control: the input really was wrapped"
