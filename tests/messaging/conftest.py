"""A fresh topology on the session's emulator (tests/conftest.py) for each test."""

from __future__ import annotations

import uuid

import pytest

from service.core.config import Settings
from service.messaging.bootstrap import create_topology
from service.messaging.topology import TOPOLOGY
from tools.local.emulator import Emulator


@pytest.fixture
def aws_settings(settings: Settings, emulator: Emulator) -> Settings:
    """The test's settings, pointed at the emulator, with a topology of its own."""
    local = settings.model_copy(
        update={
            "aws_endpoint_url": emulator.url,
            "worker_wait_seconds": 1,
            "worker_visibility_timeout_seconds": 5,
            "worker_retry_base_seconds": 0.05,
            "relay_max_backoff_seconds": 0.2,
        }
    )
    env = create_topology(local, prefix=f"t{uuid.uuid4().hex[:10]}")
    return local.model_copy(update=TOPOLOGY.endpoints_from(env))
