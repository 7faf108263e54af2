"""parliament (duo-labs' IAM linter), loaded offline.

parliament 1.6.4 still does `import pkg_resources` for two data-file paths, and the pinned
setuptools no longer ships `pkg_resources`. Only `resource_filename` is used, so a stand-in built on
importlib.resources is given to it; the linter itself is untouched. (Alternative: pin
`setuptools<81` in the dev group of pyproject.toml.)
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import sys
import types
import warnings
from typing import Any


def _install_pkg_resources_stand_in() -> None:
    if "pkg_resources" in sys.modules or importlib.util.find_spec("pkg_resources") is not None:
        return
    stand_in = types.ModuleType("pkg_resources")

    def resource_filename(package: str, resource: str) -> str:
        return str(importlib.resources.files(package).joinpath(resource))

    stand_in.resource_filename = resource_filename  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = stand_in


_install_pkg_resources_stand_in()

# parliament's regexes are non-raw strings: Python warns while compiling it. Harmless, not ours.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    from parliament import analyze_policy_string

# Findings that mean the document is wrong, not merely worth a look.
BLOCKING = {
    "UNKNOWN_ACTION",
    "UNKNOWN_PREFIX",
    "UNKNOWN_PRINCIPAL",
    "UNKNOWN_FEDERATION_SOURCE",
    "UNKNOWN_OPERATOR",
    "MISMATCHED_TYPE",
    "RESOURCE_MISMATCH",
    "RESOURCE_STAR",
    "MALFORMED",
    "MALFORMED_JSON",
    "INVALID_ARN",
    "EXCEPTION",
}


def findings(document: str) -> list[Any]:
    return list(analyze_policy_string(document).findings)


def blocking_findings(document: str) -> list[str]:
    return [f"{f.issue}: {f.detail}" for f in findings(document) if f.issue in BLOCKING]
