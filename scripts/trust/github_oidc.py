"""Which AWS role each workflow job assumes, and the OIDC token GitHub would hand that job.

Read from the workflow files themselves: triggers, reusable workflows (`uses: $/.github/...`,
with their `with:` inputs), matrices, environments, `permissions: id-token`, and the
`role-to-assume` of every `aws-actions/configure-aws-credentials` step. The `sub` claim follows
GitHub's documented formats ("OpenID Connect reference", checked 2026-12-07), built by
infra/oidc_subjects.py from the repository's prefix (`repo:O/R`, or `repo:O@ID/R@ID` in the
immutable form):

- a job bound to an environment: `<prefix>:environment:NAME`, whatever the event;
- otherwise `<prefix>:pull_request` for a pull request, `<prefix>:ref:<ref>` for a push, a
  dispatch and a schedule (schedules run on the default branch), and the merge queue's
  `<prefix>:ref:refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>`;
- a pull request from a fork gets no token at all, and neither does a job without
  `id-token: write`.

Expressions are evaluated only in the forms the workflows use (`vars.X`, `matrix.k`,
`inputs.k`, `a == 'x' && b || c`, `vars[format('X_{0}', matrix.k)]`, string literals); anything
else raises, so the proof cannot silently skip a job. A matrix read from an earlier job's output
(`fromJSON(needs.stacks.outputs.all)`) is computed by the module that job's step runs
(scripts/deploy/stacks.py, from the repository's stacks.yaml), for the run's dispatch inputs; a
free-text dispatch input `stack` is tried with every declared stack and with an undeclared one,
which the reader refuses (that run stops there, assuming nothing).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.oidc_subjects import environment_subject, pull_request_subject, ref_subject
from scripts.deploy import stacks as stack_list
from scripts.deploy.errors import DeployError

CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"
QUEUE_SHA = "0123456789abcdef0123456789abcdef01234567"
# A dispatch input value no stack has: the proof checks the reader refuses it.
UNDECLARED_STACK = "no-such-stack"


@dataclass(frozen=True)
class VarRef:
    """`${{ vars.NAME }}`: a repository or environment variable."""

    name: str


Value = str | VarRef | None


@dataclass(frozen=True)
class Deferred:
    """A reusable workflow's input: the caller's expression, evaluated only when read."""

    text: Any
    scope: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Event:
    name: str  # push, pull_request, merge_group, workflow_dispatch, schedule
    ref: str  # the ref the run is for
    inputs: Mapping[str, str] = field(default_factory=dict)  # workflow_dispatch inputs
    from_fork: bool = False

    def describe(self) -> str:
        extra = f" {dict(self.inputs)}" if self.inputs else ""
        fork = " from a fork" if self.from_fork else ""
        return f"{self.name}{fork} on {self.ref}{extra}"


@dataclass(frozen=True)
class Assumption:
    """One job, in one run, that assumes an AWS role."""

    workflow: str
    job: str  # as GitHub names the check: "caller / called" for reusable workflows
    event: Event
    environment: str | None
    role: Value  # what role-to-assume evaluates to
    timeout_minutes: int
    duration_seconds: int | None  # role-duration-seconds (None: the action's default, 1 h)
    id_token: bool  # does the job hold `id-token: write`?
    region: Value = None  # the step's aws-region (STS and every later call go there)

    def subject(self, sub_claim_prefix: str) -> str | None:
        """The `sub` GitHub issues to this job in a repository with this prefix, or None when
        it issues no token."""
        if self.event.from_fork or not self.id_token:
            return None
        if self.environment:
            return environment_subject(sub_claim_prefix, self.environment)
        if self.event.name == "pull_request":
            return pull_request_subject(sub_claim_prefix)
        return ref_subject(sub_claim_prefix, self.event.ref)

    def describe(self) -> str:
        env = f", environment {self.environment}" if self.environment else ""
        return f"{self.workflow} job '{self.job}' ({self.event.describe()}{env})"


# --- expressions -------------------------------------------------------------------------------

_EXPRESSION = re.compile(r"^\$\{\{\s*(?P<body>.+?)\s*\}\}$")
_CONDITIONAL = re.compile(
    r"^(?P<left>[\w.]+)\s*==\s*'(?P<literal>[^']*)'\s*&&\s*(?P<then>\S+)\s*\|\|\s*(?P<else>\S+)$"
)
_FORMATTED_VAR = re.compile(
    r"^vars\[format\('(?P<template>[A-Za-z0-9_]*\{0\}[A-Za-z0-9_]*)',\s*(?P<arg>[\w.]+)\)\]$"
)


def evaluate(text: Any, scope: Mapping[str, Mapping[str, Any]]) -> Value:
    """A workflow value: a literal, or `${{ expr }}` over `vars`, `matrix` and `inputs`."""
    if text is None:
        return None
    literal = str(text)
    match = _EXPRESSION.match(literal.strip())
    if match is None:
        if "${{" in literal:
            raise ValueError(
                f"cannot evaluate {literal!r}: only whole-value expressions are supported"
            )
        return literal
    return _evaluate_body(match["body"], scope)


def _evaluate_body(body: str, scope: Mapping[str, Mapping[str, Any]]) -> Value:
    if body.startswith("'") and body.endswith("'"):
        return body[1:-1]
    formatted = _FORMATTED_VAR.match(body)
    if formatted:
        argument = _evaluate_body(formatted["arg"], scope)
        if not isinstance(argument, str):
            raise ValueError(f"cannot evaluate ${{{{ {body} }}}}: {formatted['arg']} is not text")
        return VarRef(formatted["template"].replace("{0}", argument))
    conditional = _CONDITIONAL.match(body)
    if conditional:
        left = _evaluate_body(conditional["left"], scope)
        branch = "then" if left == conditional["literal"] else "else"
        return _evaluate_body(conditional[branch], scope)
    context, _, name = body.partition(".")
    if context == "vars" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return VarRef(name)
    if context in ("matrix", "inputs") and name in scope.get(context, {}):
        value = scope[context][name]
        if isinstance(value, Deferred):
            return evaluate(value.text, value.scope)
        return evaluate(value, scope)
    raise ValueError(f"cannot evaluate ${{{{ {body} }}}} (scope: {sorted(scope)})")


# --- workflows ---------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def events_of(
    workflow: Mapping[str, Any],
    main_branch: str = "main",
    free_values: Mapping[str, Sequence[str]] | None = None,
) -> list[Event]:
    """One representative run per trigger (and per choice of each dispatch input; a free-text
    input takes the values `free_values` gives for its name)."""
    triggers = workflow.get("on") or {}
    if isinstance(triggers, str | list):
        triggers = dict.fromkeys([triggers] if isinstance(triggers, str) else triggers)
    main_ref = f"refs/heads/{main_branch}"
    found: list[Event] = []
    for name, spec in triggers.items():
        spec = spec or {}
        if name == "push":
            for branch in spec.get("branches", [main_branch]):
                found.append(Event("push", f"refs/heads/{branch}"))
        elif name == "pull_request":
            found.append(Event("pull_request", "refs/pull/42/merge"))
            found.append(Event("pull_request", "refs/pull/43/merge", from_fork=True))
        elif name == "merge_group":
            queue = f"refs/heads/gh-readonly-queue/{main_branch}/pr-42-{QUEUE_SHA}"
            found.append(Event("merge_group", queue))
        elif name == "schedule":
            found.append(Event("schedule", main_ref))
        elif name == "workflow_dispatch":
            inputs = spec.get("inputs") or {}
            choices = [
                [
                    (key, str(option))
                    for option in (
                        definition.get("options") or (free_values or {}).get(key) or [""]
                    )
                ]
                for key, definition in inputs.items()
            ]
            for combination in itertools.product(*choices):
                found.append(Event("workflow_dispatch", main_ref, dict(combination)))
        elif name != "workflow_call":
            raise ValueError(f"trigger {name!r} has no documented subject here; add it")
    return found


_FROM_OUTPUT = re.compile(
    r"^\$\{\{\s*fromJSON\(needs\.(?P<job>[\w-]+)\.outputs\.(?P<output>\w+)\)\s*\}\}$"
)
_STEP_OUTPUT = re.compile(r"^\$\{\{\s*steps\.(?P<step>[\w-]+)\.outputs\.(?P<output>\w+)\s*\}\}$")


def _job_outputs(
    workflow: Mapping[str, Any], job_id: str, event: Event, root: Path
) -> dict[str, str] | None:
    """What a job that reads stacks.yaml outputs in this run; None when its reader refuses the
    run's inputs (the run stops there). Any other producer raises: the proof knows no more."""
    job = (workflow.get("jobs") or {})[job_id]
    produced: dict[str, dict[str, str] | None] = {}
    for step in job.get("steps") or []:
        run = str(step.get("run", ""))
        if "-m scripts.deploy.stacks matrices" not in run:
            continue
        chosen = event.inputs.get("stack") if "--stack" in run else None
        try:
            produced[str(step.get("id"))] = stack_list.matrices(root, stack=chosen)
        except DeployError:
            produced[str(step.get("id"))] = None
    outputs: dict[str, str] = {}
    for name, expression in (job.get("outputs") or {}).items():
        match = _STEP_OUTPUT.match(str(expression))
        if match is None or match["step"] not in produced:
            raise ValueError(f"cannot evaluate job {job_id}'s output {name}: {expression!r}")
        step_outputs = produced[match["step"]]
        if step_outputs is None:
            return None
        outputs[name] = step_outputs[match["output"]]
    return outputs


def _matrix_rows(
    job: Mapping[str, Any], workflow: Mapping[str, Any], event: Event, root: Path
) -> list[dict[str, Any]]:
    matrix = ((job.get("strategy") or {}).get("matrix")) or {}
    if not matrix:
        return [{}]
    include = matrix.get("include") or []
    if isinstance(include, str):
        source = _FROM_OUTPUT.match(include.strip())
        if source is None:
            raise ValueError(f"cannot evaluate the matrix {include!r}")
        outputs = _job_outputs(workflow, source["job"], event, root)
        if outputs is None:
            return []  # the reader refused the run's inputs: this job never starts
        include = json.loads(outputs[source["output"]])
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    rows = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    if include and rows == [{}]:
        return [dict(row) for row in include]
    return rows + [dict(row) for row in include] if include else rows


_EVENT_CONDITION = re.compile(r"github\.event_name\s*==\s*'(?P<event>\w+)'")


def _runs_for(job: Mapping[str, Any], event: Event) -> bool:
    """False when the job's `if` requires another event (`github.event_name == 'x' && ...`)."""
    condition = str(job.get("if") or "")
    required = {m["event"] for m in _EVENT_CONDITION.finditer(condition)}
    if not required or "||" in condition:
        return True  # no event condition, or one this reader does not narrow: assume it runs
    return event.name in required


def _has_id_token(job: Mapping[str, Any]) -> bool:
    permissions = job.get("permissions")
    return isinstance(permissions, Mapping) and permissions.get("id-token") == "write"


def _job_name(job_id: str, job: Mapping[str, Any], scope: Mapping[str, Mapping[str, Any]]) -> str:
    raw = str(job.get("name", job_id))
    return re.sub(r"\$\{\{[^}]*\}\}", lambda m: str(evaluate(m.group(0), scope)), raw)


def assumptions(
    workflows: Path, *, main_branch: str = "main", root: Path | None = None
) -> Iterator[Assumption]:
    """Every (run, job) pair in which a job configures AWS credentials through OIDC. `root`:
    the repository whose stacks.yaml the workflows read (default: the one holding them, or this
    repository's for a folder of workflows outside a `.github`, such as a test's edited copy)."""
    if root is None:
        held = workflows.resolve().parent
        root = held.parent if held.name == ".github" else stack_list.REPO_ROOT
    declared = [s.stack for s in stack_list.read_stacks(root)]
    free_values = {"stack": [*declared, UNDECLARED_STACK]}
    for path in sorted(workflows.glob("*.yml")):
        workflow = load(path)
        for event in events_of(workflow, main_branch, free_values):
            scope = {"inputs": dict(event.inputs)}
            yield from _jobs(
                workflows, path.name, workflow, event, scope, prefix="", caller_token=True,
                root=root,
            )  # fmt: skip


def _jobs(
    workflows: Path,
    name: str,
    workflow: Mapping[str, Any],
    event: Event,
    scope: Mapping[str, Mapping[str, Any]],
    *,
    prefix: str,
    caller_token: bool,
    root: Path,
) -> Iterator[Assumption]:
    for job_id, job in (workflow.get("jobs") or {}).items():
        if not _runs_for(job, event):
            continue
        for row in _matrix_rows(job, workflow, event, root):
            job_scope = {**scope, "matrix": row}
            title = prefix + _job_name(job_id, job, job_scope)
            token = caller_token and _has_id_token(job)
            uses = job.get("uses")
            if uses:
                called = workflows / Path(str(uses).split("/.github/workflows/", 1)[1])
                # Inputs are the caller's expressions, evaluated in the caller's scope.
                resolved = {k: Deferred(v, job_scope) for k, v in (job.get("with") or {}).items()}
                callee = load(called)
                declared = ((callee.get("on") or {}).get("workflow_call") or {}).get("inputs") or {}
                defaults: dict[str, Any] = {
                    k: str(d.get("default", "")) for k, d in declared.items()
                }
                yield from _jobs(
                    workflows, name, callee, event, {"inputs": {**defaults, **resolved}},
                    prefix=f"{title} / ", caller_token=token, root=root,
                )  # fmt: skip
                continue
            for step in job.get("steps") or []:
                if not str(step.get("uses", "")).startswith(CREDENTIALS_ACTION + "@"):
                    continue
                settings = step.get("with") or {}
                environment = job.get("environment")
                if isinstance(environment, Mapping):
                    environment = environment.get("name")
                duration = settings.get("role-duration-seconds")
                yield Assumption(
                    workflow=name,
                    job=title,
                    event=event,
                    environment=_as_text(evaluate(environment, job_scope)) or None,
                    role=evaluate(settings.get("role-to-assume"), job_scope),
                    timeout_minutes=int(job.get("timeout-minutes", 360)),
                    duration_seconds=int(duration) if duration is not None else None,
                    id_token=token,
                    region=evaluate(settings.get("aws-region"), job_scope),
                )


def _as_text(value: Value) -> str:
    if isinstance(value, VarRef):
        return "${{ vars." + value.name + " }}"
    return value or ""
