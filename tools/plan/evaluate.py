"""Runs a Pulumi program in-process under the fake AWS and returns what it registered.

Pulumi's documented unit-test set-up (`pulumi.runtime.set_mocks`, then the program, awaited by
`pulumi.runtime.test`), with the engine replaced by `RecordingMonitor` and AWS by `FakeAws`.
Pulumi's runtime is process-global: each run resets the root stack, the mocks and the config
first, under one lock, so several stacks can be evaluated one after another in one process.
"""

from __future__ import annotations

import asyncio
import runpy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi

from infra.bootstrap_config import BOOTSTRAP_PROJECT, BootstrapConfig, parse_bootstrap_config
from infra.config import PROJECT, StackConfig, parse_stack_config
from tools.paths import REPO_ROOT
from tools.plan.fake_aws import FakeAws
from tools.plan.pulumi_internals import plain, stack_outputs
from tools.plan.recording import RecordedResource, RecordingMonitor
from tools.plan.stack_files import SECRET_KEYS, raw_stack_config

PROGRAM = REPO_ROOT / "platform" / "__main__.py"
BOOTSTRAP_DIR = REPO_ROOT / "platform" / "bootstrap"


@dataclass
class EvaluatedStack:
    stack: str
    config: StackConfig
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    invokes: list[str] = field(default_factory=list)

    def of_type(self, rtype: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == rtype]

    def named(self, rtype: str, name: str) -> RecordedResource:
        matches = [r for r in self.of_type(rtype) if r.name == name]
        if len(matches) != 1:
            known = ", ".join(r.name for r in self.of_type(rtype)) or "none"
            raise KeyError(f"{len(matches)} {rtype} named {name!r}; there are: {known}")
        return matches[0]

    def by_urn(self, urn: str) -> RecordedResource:
        return next(r for r in self.resources if r.urn == urn)

    def children(self, urn: str | None) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == urn]

    @property
    def root_urn(self) -> str | None:
        stacks = [r.urn for r in self.resources if r.type == "pulumi:pulumi:Stack"]
        return stacks[0] if stacks else None


@dataclass
class EvaluatedBootstrap(EvaluatedStack):
    """The bootstrap program (platform/bootstrap/) evaluated under the same mocks."""

    config: BootstrapConfig  # type: ignore[assignment]  # the bootstrap's own settings


@dataclass
class ProgramRun:
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    invokes: list[str]
    error: BaseException | None


_EVALUATION_LOCK = threading.Lock()


def run_under_mocks(
    program: Callable[[], Any],
    *,
    stack: str,
    region: str = "us-east-1",
    raw_config: Mapping[str, str] | None = None,
    project: str = PROJECT,
) -> ProgramRun:
    """Runs `program` against fresh mocks, root stack and config; never raises its error."""
    raw = dict(raw_config or {})
    with _EVALUATION_LOCK:
        _ensure_event_loop()
        aws = FakeAws(stack, region)
        monitor = RecordingMonitor(aws)
        pulumi.runtime.reset_options(project=project, stack=stack, preview=False)
        pulumi.runtime.set_mocks(aws, project=project, stack=stack, preview=False, monitor=monitor)
        pulumi.runtime.set_all_config(raw, [k for k in SECRET_KEYS if k in raw])
        outputs: dict[str, Any] = {}

        def run() -> pulumi.Output[None]:
            program()
            exported = stack_outputs(pulumi.runtime.get_root_resource())
            return pulumi.Output.from_input(exported).apply(outputs.update)

        error: BaseException | None = None
        try:
            # `test` runs `run`, awaits the Output it returns, then every outstanding registration.
            pulumi.runtime.test(run)()  # type: ignore[no-untyped-call]
        except Exception as exc:  # handed back to the caller in ProgramRun
            error = exc
        return ProgramRun(
            resources=list(monitor.records),
            outputs=plain(outputs),
            invokes=list(aws.invokes),
            error=error,
        )


def run_program(stack: str, raw_config: Mapping[str, str]) -> ProgramRun:
    """Runs platform/__main__.py itself (what `pulumi up` runs) with the given raw config."""
    region = raw_config.get("aws:region") or "us-east-1"
    return run_under_mocks(
        lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
        stack=stack,
        region=region,
        raw_config=raw_config,
    )


E = TypeVar("E", bound=EvaluatedStack)


def _evaluated(kind: type[E], stack: str, config: Any, run: ProgramRun) -> E:
    """The evaluation of a finished run, or the run's own error (a config error among them)."""
    if run.error is not None:
        raise run.error
    return kind(
        stack=stack,
        config=config,
        resources=run.resources,
        outputs=run.outputs,
        invokes=run.invokes,
    )


def evaluate_stack(stack: str, overrides: Mapping[str, str | None] | None = None) -> EvaluatedStack:
    """Runs platform/__main__.py for `stack` under the mocks; returns resources and outputs.

    `overrides` replaces config values (`None` removes one): how the tests try other settings.
    A configuration error propagates as `infra.config.ConfigError`.
    """
    raw = raw_stack_config(stack, overrides)
    config = parse_stack_config(raw, stack)  # fail fast, with the same message as the program
    return _evaluated(EvaluatedStack, stack, config, run_program(stack, raw))


def evaluate_bootstrap(
    stack: str = "shipyard", overrides: Mapping[str, str | None] | None = None
) -> EvaluatedBootstrap:
    """Runs platform/bootstrap/__main__.py for `stack` (its Pulumi.<stack>.yaml) under mocks."""
    raw = raw_stack_config(stack, overrides, project_dir=BOOTSTRAP_DIR)
    config = parse_bootstrap_config(raw, stack)
    run = run_under_mocks(
        lambda: runpy.run_path(str(BOOTSTRAP_DIR / "__main__.py"), run_name="__main__"),
        stack=stack,
        region=config.region,
        raw_config=raw,
        project=BOOTSTRAP_PROJECT,
    )
    return _evaluated(EvaluatedBootstrap, stack, config, run)


def _ensure_event_loop() -> None:
    """Pulumi's SDK schedules its work on the thread's current event loop
    (`asyncio.get_event_loop()`); an `asyncio.run()` earlier in the same thread (a test of the
    service, say) leaves none behind, and the SDK then fails with "no current event loop"."""
    policy = asyncio.get_event_loop_policy()
    try:
        usable = not policy.get_event_loop().is_closed()
    except RuntimeError:
        usable = False
    if not usable:
        policy.set_event_loop(policy.new_event_loop())
