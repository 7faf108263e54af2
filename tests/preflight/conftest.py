"""Recorded answers for the preflight's checks.

AWS: real boto3 clients with botocore's Stubber, which validates every request and every recorded
answer against AWS's own API models (a misspelt parameter or field fails the test), and fails a
test whose check makes a call nobody recorded. GitHub: an HTTP server on 127.0.0.1 standing in for
api.github.com (GITHUB_API_URL points at it), answering recorded bodies and recording every
request it gets; each recorded 200 body must fit GitHub's published REST description of that
operation (github_description.py, data/github-rest-responses.json from @octokit/openapi 23.0.2).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.stub import Stubber

from tests.preflight.support import ACCOUNT, REGION, GitHubStandIn
from tests.utils.aws_stubs import StubbedClients


@pytest.fixture(autouse=True)
def _as_on_a_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    """No runner files, no runner, no token of the machine's: each test sets what it needs."""
    for name in (
        "GITHUB_ACTIONS",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_TOKEN",
        "GH_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def stubbed() -> Iterator[Callable[..., tuple[Any, Stubber]]]:
    """`stubbed("ec2", region)` -> a client and its active Stubber; every recorded answer must
    have been asked for by the end of the test."""
    clients = StubbedClients(REGION)
    yield clients.pair
    clients.assert_all_asked()
    clients.close()


@pytest.fixture(scope="session")
def _github_server() -> Iterator[GitHubStandIn]:
    """One server for the session (each test gets it emptied, see `github`)."""
    stand_in: GitHubStandIn

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            path = urlsplit(self.path).path
            stand_in.requests.append((self.command, self.path, dict(self.headers)))
            status, body = stand_in.routes.get(path, (404, {"message": "Not Found"}))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _reply  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in = GitHubStandIn(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def github(_github_server: GitHubStandIn, monkeypatch: pytest.MonkeyPatch) -> GitHubStandIn:
    """The stand-in GitHub, with no recorded answers yet, and GITHUB_API_URL pointing at it."""
    _github_server.routes.clear()
    _github_server.requests.clear()
    monkeypatch.setenv("GITHUB_API_URL", _github_server.url)
    return _github_server


@pytest.fixture(scope="session")
def declared_trust() -> dict[str, dict[str, Any]]:
    """Each deploy role's trust policy exactly as the bootstrap program declares it (evaluated
    offline under Pulumi's mocks): what GetRole answers once `make bootstrap` ran."""
    from tools.plan.offline import evaluate_bootstrap

    bootstrap = evaluate_bootstrap("shipyard")
    # The mocks' account is AWS's documentation id; the recorded account is this test's.
    return {
        role.inputs["name"]: json.loads(
            role.inputs["assumeRolePolicy"].replace("123456789012", ACCOUNT)
        )
        for role in bootstrap.of_type("aws:iam/role:Role")
    }


def pytest_configure(config: pytest.Config) -> None:
    # The deploy-role tests evaluate the bootstrap; pulumi_aws warns at import about its own
    # deprecated aliases, which nothing here uses.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
