"""Pulumi entry point (`main: platform/` in Pulumi.yaml): load settings, build, export outputs.

Pulumi runs this file with platform/ as the working directory; the repository root goes on the
path so the program can import `service.messaging.topology`, the one messaging declaration.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
for entry in (str(REPO_ROOT), str(REPO_ROOT / "platform")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import pulumi  # noqa: E402 - after the path set-up above

from infra.config import load_stack_config  # noqa: E402
from infra.program import build  # noqa: E402

# A bad setting raises here, before a single resource is declared.
config = load_stack_config()
for output_name, value in build(config).items():
    pulumi.export(output_name, value)
