"""Bootstrap entry point (`platform/bootstrap/Pulumi.yaml`): load settings, build, export.

Pulumi runs this file with platform/bootstrap/ as the working directory; platform/ (for `infra`)
and the repository root go on the path, as in the app program's entry point.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for entry in (str(HERE.parent.parent), str(HERE.parent)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import pulumi  # noqa: E402 - after the path set-up above

from infra.bootstrap_config import load_bootstrap_config  # noqa: E402
from infra.bootstrap_program import build  # noqa: E402

# A bad setting raises here, before a single resource is declared.
config = load_bootstrap_config()
for output_name, value in build(config).items():
    pulumi.export(output_name, value)
