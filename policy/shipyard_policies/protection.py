"""Stateful resources carry Pulumi's `protect` in the stacks that must never lose them (prod).

The program sets `protect` on every type of the declared stateful list (platform/infra/stateful.py)
when `shipyard:protect_stateful` is true; this policy checks that it did, so a program change that
drops the transformation, or a resource created some other way, fails the preview. With `protect`
in the state, even a `pulumi up` run by hand refuses to replace or delete the resource until
someone runs `pulumi state unprotect` on it (docs/delivery.md, Approving a destructive change).
"""

from __future__ import annotations

from pulumi_policy import PolicyConfigSchema, ResourceValidationArgs, ResourceValidationPolicy

from infra.stateful import STATEFUL_TYPES
from shipyard_policies.props import ReportViolation

# The stacks whose Pulumi.<stack>.yaml sets shipyard:protect_stateful: true (a test keeps the two
# in step); `--policy-pack-config` can name others.
PROTECTED_STACKS = ("prod",)


def stack_of(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::<type>::<name>` -> <stack>."""
    return urn.removeprefix("urn:pulumi:").split("::", 1)[0]


def _protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in STATEFUL_TYPES:
        return
    stacks = args.get_config().get("protectedStacks", PROTECTED_STACKS)
    stack = stack_of(args.urn)
    if stack in stacks and not args.opts.protect:
        report(
            f"{args.resource_type} {args.name} is stateful ({STATEFUL_TYPES[args.resource_type]}) "
            f"and must carry `protect` in {stack}: set shipyard:protect_stateful: true in "
            f"Pulumi.{stack}.yaml (platform/infra/stateful.py applies it)"
        )


STATEFUL_RESOURCES_PROTECTED = ResourceValidationPolicy(
    name="stateful-resources-protected",
    description="In protected stacks (prod), every stateful resource has Pulumi's protect option.",
    validate=_protected,
    config_schema=PolicyConfigSchema(
        properties={
            "protectedStacks": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(PROTECTED_STACKS),
            }
        }
    ),
)
