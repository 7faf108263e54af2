"""Two scripts run on the runner's own Python before `make install`: they need nothing else."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.delivery.support import REPO_ROOT

PROBE = """
import sys
before = set(sys.modules)
import {module}
third_party = sorted(
    name for name in set(sys.modules) - before
    if name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] != "scripts"
)
print(",".join(third_party))
"""


@pytest.mark.parametrize("module", ["scripts.deploy.preview_gate", "scripts.deploy.image_ref"])
def test_module_imports_only_the_standard_library(module):
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == ""
