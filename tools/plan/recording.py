"""The mock engine with a record of every registration, as the engine and CrossGuard see it.

Property names are the engine's (camelCase) and JSON documents stay strings, so what the tests
and the policy pack assert on is what a real `pulumi preview` would hand them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pulumi

from tools.plan.pulumi_internals import MockMonitor, deserialize_properties, plain


@dataclass(frozen=True)
class RecordedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    state: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    provider: str | None = None  # "<provider urn>::<id>" when not the default provider
    protect: bool = False  # the `protect` resource option, as the engine receives it
    # `customTimeouts` as registered ({"create": "45m", ...}); empty: the provider's defaults.
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    # The `aliases` option: the earlier names (or URNs) the engine would carry this one over from.
    aliases: tuple[str, ...] = ()


class RecordingMonitor(MockMonitor):
    """The mock engine, plus a record of each registration: parent, inputs, dependencies."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[RecordedResource] = []
        self._lock = threading.Lock()  # registrations arrive from several threads

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        registration = self.get_registered_resources().get(response.urn)
        record = RecordedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            inputs=plain(deserialize_properties(request.object)),
            state=plain(dict(registration.state)) if registration else {},
            dependencies=tuple(request.dependencies),
            provider=request.provider or None,
            protect=bool(request.protect),
            custom_timeouts={
                key: value
                for key in ("create", "update", "delete")
                if (value := getattr(request.customTimeouts, key, ""))
            },
            # Explicit ones only: the SDK also sends an empty spec per parent-inherited alias.
            aliases=tuple(
                name
                for alias in getattr(request, "aliases", ())
                if (name := alias.urn or alias.spec.name)
            ),
        )
        with self._lock:
            self.records.append(record)
        return response
