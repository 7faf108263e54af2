"""Real boto3 clients answered by botocore's Stubber, which validates every request and every
recorded answer against AWS's own API models (a misspelt parameter or field fails the test) and
fails a call nobody recorded an answer for."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber


class StubbedClients:
    """One stubbed client per (service, region), created on first use; also stands in for a
    `boto3.Session` (`client(service, region_name=...)`)."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._made: dict[tuple[str, str], tuple[Any, Stubber]] = {}

    def pair(self, service: str, region: str | None = None) -> tuple[Any, Stubber]:
        key = (service, region or self.region)
        if key not in self._made:
            # One helper for every service: boto3-stubs types client() per literal service name.
            client = boto3.client(  # type: ignore[call-overload]
                service,
                region_name=key[1],
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            stubber = Stubber(client)
            stubber.activate()
            self._made[key] = (client, stubber)
        return self._made[key]

    def stub(self, service: str, region: str | None = None) -> Stubber:
        return self.pair(service, region)[1]

    def client(self, service: str, region_name: str | None = None) -> Any:
        return self.pair(service, region_name)[0]

    def assert_all_asked(self) -> None:
        """Every recorded answer was asked for."""
        for _client, stubber in self._made.values():
            stubber.assert_no_pending_responses()

    def close(self) -> None:
        for _client, stubber in self._made.values():
            stubber.deactivate()
