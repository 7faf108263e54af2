"""Finding and updating a stack's PR comment through the GitHub REST API.

GitHub itself cannot run here, so a small in-memory stand-in serves the three endpoints the script
uses, with GitHub's pagination (Link headers) and authorship, through httpx.MockTransport.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from scripts.deploy.errors import DeployError
from scripts.deploy.render_preview_comment import GITHUB_COMMENT_LIMIT, preview_marker
from scripts.deploy.upsert_pr_comment import DEFAULT_AUTHOR, main, upsert_comment

REPO = "acme/shipyard"
PR = 42
API = "https://api.github.test"


class FakeGitHub:
    """Issue comments of one pull request, as GitHub's REST API serves them."""

    def __init__(self, per_page_cap: int = 100) -> None:
        self.comments: list[dict] = []
        self.requests: list[httpx.Request] = []
        self.per_page_cap = per_page_cap
        self.refuse_writes_with: int | None = None

    def add(self, body: str, author: str = DEFAULT_AUTHOR) -> dict:
        comment = {
            "id": 1000 + len(self.comments),
            "body": body,
            "user": {"login": author, "type": "Bot" if author.endswith("[bot]") else "User"},
            "html_url": f"https://github.com/{REPO}/pull/{PR}#issuecomment-{len(self.comments)}",
        }
        self.comments.append(comment)
        return comment

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.headers["Authorization"] == "Bearer t0ken"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
        path = request.url.path
        if request.method == "GET" and path == f"/repos/{REPO}/issues/{PR}/comments":
            per_page = min(int(request.url.params.get("per_page", 30)), self.per_page_cap)
            page = int(request.url.params.get("page", 1))
            chunk = self.comments[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(self.comments):
                headers["Link"] = (
                    f'<{API}{path}?per_page={per_page}&page={page + 1}>; rel="next", '
                    f'<{API}{path}?per_page={per_page}&page=1>; rel="first"'
                )
            return httpx.Response(200, json=chunk, headers=headers)
        if self.refuse_writes_with:
            return httpx.Response(
                self.refuse_writes_with, json={"message": "Resource not accessible by integration"}
            )
        if request.method == "POST" and path == f"/repos/{REPO}/issues/{PR}/comments":
            comment = self.add(json.loads(request.content)["body"])
            return httpx.Response(201, json=comment)
        match = re.fullmatch(rf"/repos/{REPO}/issues/comments/(\d+)", path)
        if request.method == "PATCH" and match:
            comment = next(c for c in self.comments if c["id"] == int(match[1]))
            comment["body"] = json.loads(request.content)["body"]
            return httpx.Response(200, json=comment)
        return httpx.Response(404, json={"message": "Not Found"})

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=API,
            transport=httpx.MockTransport(self.handler),
            headers={"Authorization": "Bearer t0ken", "X-GitHub-Api-Version": "2022-11-28"},
        )

    def writes(self) -> list[str]:
        return [r.method for r in self.requests if r.method != "GET"]


def _body(stack: str, text: str) -> str:
    return f"{preview_marker(stack)}\n### {text}\n"


def _upsert(github: FakeGitHub, stack: str, text: str):
    with github.client() as client:
        return upsert_comment(
            client,
            repository=REPO,
            number=PR,
            marker=preview_marker(stack),
            body=_body(stack, text),
        )


def test_first_push_creates_and_later_pushes_update_the_same_comment():
    github = FakeGitHub()
    github.add("LGTM", author="a-human")

    first = _upsert(github, "staging", "push 1")
    second = _upsert(github, "staging", "push 2")
    third = _upsert(github, "staging", "push 3")

    assert (first.action, second.action, third.action) == ("created", "updated", "updated")
    assert first.comment_id == second.comment_id == third.comment_id
    assert [c["body"] for c in github.comments] == ["LGTM", _body("staging", "push 3")]


def test_each_stack_keeps_its_own_comment():
    github = FakeGitHub()
    _upsert(github, "staging", "staging 1")
    _upsert(github, "prod", "prod 1")
    _upsert(github, "staging", "staging 2")

    bodies = [c["body"] for c in github.comments]
    assert bodies == [_body("staging", "staging 2"), _body("prod", "prod 1")]


def test_a_marker_quoted_by_someone_else_is_not_taken_over():
    github = FakeGitHub()
    quoted = github.add(_body("staging", "pasted by a reviewer"), author="a-human")

    result = _upsert(github, "staging", "the real one")

    assert result.action == "created"
    assert quoted["body"] == _body("staging", "pasted by a reviewer")


def test_the_comment_is_found_beyond_the_first_page():
    github = FakeGitHub(per_page_cap=30)
    for index in range(95):
        github.add(f"discussion {index}", author="a-human")
    ours = github.add(_body("prod", "old"))

    result = _upsert(github, "prod", "new")

    assert result.action == "updated"
    assert result.comment_id == ours["id"]
    assert len([r for r in github.requests if r.method == "GET"]) == 4  # followed rel="next"
    assert github.writes() == ["PATCH"]


def test_a_read_only_token_gets_an_actionable_error():
    github = FakeGitHub()
    github.refuse_writes_with = 403

    with pytest.raises(DeployError, match="pull-requests: write"):
        _upsert(github, "staging", "x")


def test_a_body_without_its_marker_is_refused_before_any_request():
    github = FakeGitHub()
    with github.client() as client, pytest.raises(DeployError, match="must start with its marker"):
        upsert_comment(
            client, repository=REPO, number=PR, marker=preview_marker("prod"), body="hello"
        )
    assert github.requests == []


def test_a_body_over_the_limit_is_refused_before_any_request():
    github = FakeGitHub()
    body = preview_marker("prod") + "x" * GITHUB_COMMENT_LIMIT
    with github.client() as client, pytest.raises(DeployError, match="65,536"):
        upsert_comment(client, repository=REPO, number=PR, marker=preview_marker("prod"), body=body)
    assert github.requests == []


def test_main_needs_a_token(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    body = tmp_path / "comment.md"
    body.write_text(_body("staging", "x"))

    code = main(
        [
            "--repository",
            REPO,
            "--pull-request",
            str(PR),
            "--stack",
            "staging",
            "--body-file",
            str(body),
        ]
    )

    assert code == 1
