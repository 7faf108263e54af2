"""A fake AWS account for Pulumi's mocks: what AWS would answer, per resource type and invoke.

- `resources`: per resource type, the id, ARN and outputs AWS would report (`RESOURCES`), and the
  documented default for a type without a row;
- `invokes`: per data-source token, its result (`INVOKES`); an unknown token is refused;
- `account`: the account id and the AWS data the answers hand out (real where AWS publishes it).
"""

from __future__ import annotations

import threading
from typing import Any

import pulumi

from tools.plan.fake_aws import invokes, resources


class FakeAws(pulumi.runtime.Mocks):
    """Pulumi's mocks answered from the tables; records the invokes made, in order."""

    def __init__(self, stack: str, region: str) -> None:
        self.stack = stack
        self.region = region
        self.invokes: list[str] = []
        self._lock = threading.Lock()  # the mock engine answers from several threads

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        with self._lock:
            self.invokes.append(args.token)
        return invokes.respond(args.token, args.args, self.region), []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return resources.respond(
            resources.NewResource.of(args, stack=self.stack, region=self.region)
        )
