"""The Pulumi SDK names the offline harness uses beyond `pulumi.runtime`'s exported API.

Everything else comes from `pulumi.runtime.__all__` (`Mocks`, `MockResourceArgs`, `MockCallArgs`,
`set_mocks`, `set_all_config`, `reset_options`, `get_root_resource`, `test`). The names below are
not underscored, but the SDK does not export them as its API, so an upgrade may move them; this
module is the only one in tools/plan that imports them (tests/platform_program/
test_offline_internals.py holds the harness to that, and fails when the installed pulumi is not
the version they were checked against: re-read each one below, then move CHECKED_AGAINST).

- `MockMonitor` (`pulumi.runtime.mocks`): the mock engine; `set_mocks(monitor=...)` accepts a
  subclass. `Mocks.new_resource` is told a resource's type, name and inputs only; what a test or a
  policy asserts on (the parent, dependencies, provider, `protect`, custom timeouts) is on the
  engine's request, which only the monitor sees: the harness overrides its `RegisterResource`
  (the engine's gRPC method, fields as in pulumi's resource.proto) and reads the state it stored
  through `get_registered_resources()`.
- `deserialize_properties` (`pulumi.runtime.rpc`): the request's `object` (a protobuf Struct) as
  Python values, exactly as `MockMonitor` hands them to `Mocks.new_resource`.
- `is_rpc_secret`, `unwrap_rpc_secret` (`pulumi.runtime.rpc`): deserialised secrets stay wrapped
  in a signature dict; tests and policies see the values, as CrossGuard does.
- `Stack.outputs` (what `get_root_resource()` returns): the values given to `pulumi.export`. The
  engine would receive them once the program ends, but under mocks the root stack registers its
  outputs when `set_mocks` creates it, before the program runs, so they are read from the stack.

Replaced by public names since the harness left platform/: `_sync_await` and `run_pulumi_func`
(now `pulumi.runtime.test`), `settings.reset_options` / `settings.get_root_resource` (exported by
`pulumi.runtime`), `rpc._special_sig_key` / `rpc._special_secret_sig` (now `is_rpc_secret`).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.rpc import deserialize_properties, is_rpc_secret, unwrap_rpc_secret

CHECKED_AGAINST = "3.272.0"  # the pulumi version these names were read in

__all__ = ["CHECKED_AGAINST", "MockMonitor", "deserialize_properties", "plain", "stack_outputs"]


def plain(value: Any) -> Any:
    """`value` with every secret wrapper replaced by the value it wraps, at any depth."""
    if isinstance(value, dict):
        if is_rpc_secret(value):
            return plain(unwrap_rpc_secret(value))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def stack_outputs(root: pulumi.Resource | None) -> dict[str, Any]:
    """What the program exported on the root stack (nothing before `set_mocks` made one)."""
    outputs: dict[str, Any] = getattr(root, "outputs", {})
    return outputs
