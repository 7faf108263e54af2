"""The smoke test against a live local system (API, relay, emulator, worker).

The `live_system_url` fixture is provided by tests/conftest.py, which starts the system the way
`make dev` does. Where that fixture does not exist, this test is skipped, not failed.
"""

from __future__ import annotations

import pytest

from scripts.deploy.smoke import SmokeSettings, smoke
from tools.local.accounts import create_ready_account


@pytest.mark.slow
def test_smoke_passes_against_the_live_local_system(request):
    try:
        base_url = request.getfixturevalue("live_system_url")
    except pytest.FixtureLookupError:
        pytest.skip(
            "no live_system_url fixture (tests/conftest.py provides it once the system runs)"
        )

    # The stack's smoke account, made the operator's way (python -m service create-user).
    database_url = request.getfixturevalue("live_dev_system").database_url
    email, password = "smoke@example.com", "the live smoke account's password"
    create_ready_account(database_url, email, password)
    report = smoke(
        SmokeSettings(
            base_url=base_url,
            wait_healthy_seconds=60,
            order_timeout_seconds=90,
            account_email=email,
            account_password=password,
        )
    )

    assert report.steps[-1][0] == "order completed by the worker"
    assert report.order_id is not None


@pytest.mark.slow
def test_read_only_smoke_passes_against_the_live_local_system(request):
    try:
        base_url = request.getfixturevalue("live_system_url")
    except pytest.FixtureLookupError:
        pytest.skip("no live_system_url fixture")

    report = smoke(SmokeSettings(base_url=base_url, wait_healthy_seconds=60, read_only=True))

    assert report.steps[-1][0] == "API answers through the edge (anonymous 401)"
    assert report.order_id is None
