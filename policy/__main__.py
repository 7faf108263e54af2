"""CrossGuard entry point: `pulumi preview --policy-pack policy/` (and `pulumi up --policy-pack`).

Every policy is mandatory: a violation fails the preview or the update before AWS is touched.
The rules live in the `shipyard_policies` package (not `policies`, not `policy`: a package name
that cannot collide with anything else on the path), where the tests import them too.
"""

import sys
from pathlib import Path

# The list of stateful types has one home, beside the program (platform/infra/stateful.py);
# platform/ goes on the path the way platform/__main__.py puts it there.
PLATFORM = str(Path(__file__).resolve().parent.parent / "platform")
if PLATFORM not in sys.path:
    sys.path.insert(0, PLATFORM)

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402 - after the path set-up

from shipyard_policies import ALL_POLICIES  # noqa: E402

PolicyPack(
    name="shipyard-guardrails",
    description=(
        "Encryption, dead-letter queues, least privilege, private tasks, safe deployments, "
        "protected stateful resources."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=ALL_POLICIES,
)
