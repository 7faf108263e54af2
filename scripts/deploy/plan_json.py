"""Read a Pulumi preview as data: what each resource's step would do, never its state.

Two machine-readable forms of one preview, both in Pulumi's own documented shapes:

- `pulumi preview --json`: one JSON document, `display.PreviewDigest` (pulumi/pulumi
  `sdk/pkg/display/json.go`): `steps[]` of `{op, urn, provider, oldState, newState, diffReasons,
  replaceReasons, detailedDiff: {path: {kind, inputDiff}}}`, plus `diagnostics`, `changeSummary`.
- the engine event log (`PULUMI_DEBUG_COMMANDS=true pulumi preview --diff --event-log FILE`,
  written beside the text a person reads): one `apitype.EngineEvent` per line
  (`sdk/go/common/apitype/events.go`); `resourcePreEvent.metadata` is `{op, urn, type, old, new,
  keys, diffs, detailedDiff: {path: {diffKind, inputDiff}}}`.

Both carry every resource's inputs and outputs (`oldState`/`newState`, `old`/`new`): resource
state is where a stack's secrets are (Pulumi blinds values marked secret, not a password a provider
returns unmarked, and not anything under `--show-secrets`). So `Plan` keeps, per resource, the
operation, the type, the URN and the *names* of the properties forcing a replacement, nothing else;
`sanitise` turns a raw preview into that artifact, which is all that may be uploaded or passed
between jobs:

    python -m scripts.deploy.plan_json --stack prod --input "$RUNNER_TEMP/events.jsonl" \\
        --output plan-prod.json && rm "$RUNNER_TEMP/events.jsonl"
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.deploy.errors import DeployError
from scripts.deploy.github_actions import run_main

ARTIFACT_FORMAT = "shipyard-plan/1"

# Pulumi's step operations (apitype.OpType, pulumi.automation.events.OpType), by what they do to
# the resource that exists today.
REPLACING_OPS = frozenset(
    {"replace", "create-replacement", "delete-replaced", "import-replacement"}
)
DELETING_OPS = frozenset({"delete"})
# Steps that leave the existing resource alone: no-ops, creates, in-place updates, and the
# bookkeeping of resources the program only reads (`.get`, data sources) or imports.
KEEPING_OPS = frozenset(
    {
        "same",
        "create",
        "update",
        "read",
        "read-replacement",
        "refresh",
        "discard",
        "discard-replaced",
        "remove-pending-replace",
        "import",
    }
)
KNOWN_OPS = REPLACING_OPS | DELETING_OPS | KEEPING_OPS
# What Pulumi's step generator says when a change would replace or delete a protected resource.
PROTECTION_REFUSAL = "currently marked for protection"
_REPLACE_KINDS = frozenset({"add-replace", "update-replace", "delete-replace"})


@dataclass(frozen=True)
class ResourceChange:
    """What the plan does to one resource (all its steps folded into one)."""

    urn: str
    type: str
    ops: tuple[str, ...]
    replace_reasons: tuple[str, ...] = ()

    @property
    def action(self) -> str:
        """`delete`, `replace`, or the single other operation (`same`, `create`, `update`…)."""
        if DELETING_OPS & set(self.ops):
            return "delete"
        if REPLACING_OPS & set(self.ops):
            return "replace"
        return self.ops[0]

    @property
    def destroys_existing(self) -> bool:
        return self.action in ("delete", "replace")

    @property
    def name(self) -> str:
        """The logical name: the last part of `urn:pulumi:<stack>::<project>::<type>::<name>`."""
        return _urn_parts(self.urn)[3]


@dataclass(frozen=True)
class PreviewError:
    """An error the preview reported (a diagnostic, or a mandatory policy violation)."""

    urn: str
    message: str

    @property
    def is_protection_refusal(self) -> bool:
        """Pulumi refusing to replace or delete a resource marked `protect`: in a preview it
        reports the error and still lists the step, so a reviewer sees what caused it."""
        return PROTECTION_REFUSAL in self.message

    def concerns(self, urn: str) -> bool:
        return self.urn == urn or urn in self.message


@dataclass(frozen=True)
class Plan:
    stack: str | None
    changes: tuple[ResourceChange, ...]
    # False when the preview stopped before its end (no summary, no steps at all): such a plan
    # cannot show that nothing destructive would happen.
    finished: bool = True
    errors: tuple[PreviewError, ...] = ()

    def to_artifact(self) -> dict[str, Any]:
        """The sanitised form: operations, types, URNs and property names; no values.

        Errors keep their URN and whether they are a protection refusal, not their message: a
        provider's error text may quote a property value. The run log has the full text.
        """
        return {
            "format": ARTIFACT_FORMAT,
            "stack": self.stack,
            "finished": self.finished,
            "errors": [
                {"urn": e.urn, "protectionRefusal": e.is_protection_refusal} for e in self.errors
            ],
            "steps": [
                {
                    "urn": change.urn,
                    "type": change.type,
                    "ops": list(change.ops),
                    "replaceReasons": list(change.replace_reasons),
                }
                for change in self.changes
            ],
        }


def _urn_parts(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, type, name) of a URN; the type is the last of `parent$child` types."""
    if not urn.startswith("urn:pulumi:"):
        raise DeployError(f"{urn!r} is not a Pulumi URN (urn:pulumi:<stack>::<project>::...)")
    parts = urn.removeprefix("urn:pulumi:").split("::", 3)
    if len(parts) != 4:
        raise DeployError(f"{urn!r} is not a Pulumi URN (urn:pulumi:<stack>::<project>::...)")
    stack, project, qualified_type, name = parts
    return stack, project, qualified_type.rsplit("$", 1)[-1], name


@dataclass
class _Step:
    op: str
    urn: str
    type: str
    keys: Sequence[str]
    detailed: Mapping[str, Any]
    kind_field: str


def _fold(steps: Iterable[_Step]) -> tuple[ResourceChange, ...]:
    """One change per URN, in first-seen order; replacement reasons merged, de-duplicated."""
    ops: dict[str, list[str]] = {}
    types: dict[str, str] = {}
    reasons: dict[str, list[str]] = {}
    for step in steps:
        if step.op not in KNOWN_OPS:
            # Fail closed: an operation we do not know might destroy something.
            raise DeployError(
                f"unknown Pulumi step operation {step.op!r} for {step.urn}; "
                f"scripts/deploy/plan_json.py knows {', '.join(sorted(KNOWN_OPS))}"
            )
        ops.setdefault(step.urn, []).append(step.op)
        types.setdefault(step.urn, step.type or _urn_parts(step.urn)[2])
        merged = reasons.setdefault(step.urn, [])
        forcing = list(step.keys) + [
            path
            for path, diff in step.detailed.items()
            if isinstance(diff, Mapping) and diff.get(step.kind_field) in _REPLACE_KINDS
        ]
        for key in forcing:
            if key not in merged:
                merged.append(key)
    return tuple(
        ResourceChange(
            urn=urn,
            type=types[urn],
            ops=tuple(dict.fromkeys(step_ops)),
            replace_reasons=tuple(reasons[urn]) if REPLACING_OPS & set(step_ops) else (),
        )
        for urn, step_ops in ops.items()
    )


def _state_type(state: Any) -> str:
    return str(state.get("type") or "") if isinstance(state, Mapping) else ""


def _stack_of(changes: Sequence[ResourceChange]) -> str | None:
    return _urn_parts(changes[0].urn)[0] if changes else None


def parse_preview_digest(document: Mapping[str, Any]) -> Plan:
    """`pulumi preview --json` (display.PreviewDigest)."""
    raw_steps = document.get("steps") or []
    if not isinstance(raw_steps, list):
        raise DeployError("`steps` of the preview JSON is not a list")
    steps = [
        _Step(
            op=str(step.get("op", "")),
            urn=str(step.get("urn", "")),
            type=_state_type(step.get("newState")) or _state_type(step.get("oldState")),
            keys=step.get("replaceReasons") or [],
            detailed=step.get("detailedDiff") or {},
            kind_field="kind",
        )
        for step in raw_steps
    ]
    changes = _fold(steps)
    # `--json` leaves policy events out (pkg/backend/display/json.go): only diagnostics here.
    errors = tuple(
        PreviewError(str(d.get("urn") or ""), str(d.get("message") or ""))
        for d in document.get("diagnostics") or []
        if isinstance(d, Mapping) and d.get("severity") == "error"
    )
    # The root stack's step is always listed; none at all means the program never ran.
    return Plan(_stack_of(changes), changes, finished=bool(changes), errors=errors)


def parse_event_log(lines: Iterable[str]) -> Plan:
    """The engine event log: one apitype.EngineEvent JSON object per line."""
    steps: list[_Step] = []
    summary_seen = False
    errors: list[PreviewError] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DeployError(f"event log line {number} is not JSON ({exc})") from exc
        if "summaryEvent" in event:
            summary_seen = True
        diagnostic = event.get("diagnosticEvent")
        if isinstance(diagnostic, Mapping) and diagnostic.get("severity") == "error":
            errors.append(
                PreviewError(str(diagnostic.get("urn") or ""), str(diagnostic.get("message") or ""))
            )
        policy = event.get("policyEvent")
        if isinstance(policy, Mapping) and policy.get("enforcementLevel") == "mandatory":
            errors.append(
                PreviewError(
                    str(policy.get("resourceUrn") or ""),
                    f"policy {policy.get('policyName')}: {policy.get('message')}",
                )
            )
        pre = event.get("resourcePreEvent")
        if not isinstance(pre, Mapping):
            continue  # resOutputsEvent repeats the same step; diagnostics, prelude, policy…
        metadata = pre.get("metadata") or {}
        steps.append(
            _Step(
                op=str(metadata.get("op", "")),
                urn=str(metadata.get("urn", "")),
                type=str(metadata.get("type") or ""),
                keys=metadata.get("keys") or [],
                detailed=metadata.get("detailedDiff") or {},
                kind_field="diffKind",
            )
        )
    changes = _fold(steps)
    # The engine sends summaryEvent last, also after a failed preview; without it the log is cut.
    return Plan(_stack_of(changes), changes, finished=summary_seen, errors=tuple(errors))


def parse_artifact(document: Mapping[str, Any]) -> Plan:
    """The sanitised artifact written by `to_artifact` (what jobs hand to each other)."""
    changes = tuple(
        ResourceChange(
            urn=str(step["urn"]),
            type=str(step["type"]),
            ops=tuple(str(op) for op in step["ops"]),
            replace_reasons=tuple(str(key) for key in step.get("replaceReasons") or ()),
        )
        for step in document.get("steps") or []
    )
    for change in changes:
        unknown = set(change.ops) - KNOWN_OPS
        if unknown:
            raise DeployError(f"unknown Pulumi step operation {sorted(unknown)} for {change.urn}")
    return Plan(
        stack=document.get("stack"),
        changes=changes,
        finished=bool(document.get("finished")),
        errors=tuple(
            PreviewError(
                str(e.get("urn") or ""),
                PROTECTION_REFUSAL if e.get("protectionRefusal") else "error (see the run log)",
            )
            for e in document.get("errors") or []
        ),
    )


def parse_plan(text: str) -> Plan:
    """Any of the three forms, told apart by their shape."""
    stripped = text.strip()
    if not stripped:
        raise DeployError("the plan file is empty: the preview did not write it")
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError:
        return parse_event_log(stripped.splitlines())  # several JSON objects: an event log
    if not isinstance(document, Mapping):
        raise DeployError("the plan is neither a preview JSON object nor an event log")
    if document.get("format") == ARTIFACT_FORMAT:
        return parse_artifact(document)
    if "sequence" in document or "resourcePreEvent" in document or "summaryEvent" in document:
        return parse_event_log([stripped])  # an event log of exactly one line
    return parse_preview_digest(document)


def load_plan(path: Path, *, made_by: str = "pulumi preview --json") -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DeployError(f"{path} does not exist: write it first with `{made_by}`") from exc
    return parse_plan(text)


def sanitise(text: str, *, stack: str | None = None) -> dict[str, Any]:
    """A raw preview (either form) as the artifact; `stack` must match the plan's URNs."""
    plan = parse_plan(text)
    if stack and plan.stack and plan.stack != stack:
        raise DeployError(f"the plan is for stack {plan.stack!r}, not {stack!r}")
    artifact = plan.to_artifact()
    artifact["stack"] = plan.stack or stack
    return artifact


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", help="the stack previewed (checked against the URNs)")
    parser.add_argument("--input", type=Path, required=True, help="preview --json or event log")
    parser.add_argument("--output", type=Path, required=True, help="the sanitised plan")
    args = parser.parse_args(argv)

    def body() -> int:
        try:
            text = args.input.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise DeployError(f"{args.input} does not exist: the preview did not write it") from exc
        artifact = sanitise(text, stack=args.stack)
        args.output.write_text(json.dumps(artifact, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.output}: {len(artifact['steps'])} resources, no inputs or outputs")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
