"""CrossGuard entry point: `pulumi preview --policy-pack policy/` (and `pulumi up --policy-pack`).

Every policy is mandatory: a violation fails the preview or the update before AWS is touched.
The rules live in the `shipyard_policies` package (not `policies`, not `policy`: a package name
that cannot collide with anything else on the path), where the tests import them too.
"""

# The pack runs on .venv (PulumiPolicy.yaml), where `make install` installed the project: the
# rules import the list of stateful types from its one home, `infra.stateful`, with no path set-up.
from pulumi_policy import EnforcementLevel, PolicyPack

from shipyard_policies import ALL_POLICIES

PolicyPack(
    name="shipyard-guardrails",
    description=(
        "Encryption, dead-letter queues, least privilege, private tasks, safe deployments, "
        "protected stateful resources."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=ALL_POLICIES,
)
