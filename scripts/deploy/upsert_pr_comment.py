"""Create or update a stack's preview comment on a pull request (GitHub REST API).

Each stack's comment carries a hidden marker (`render_preview_comment.preview_marker`). This
script lists the pull request's comments, finds the one with that marker written by the workflow's
own identity, and edits it; only when there is none does it create one. So a pull request has
exactly one comment per stack, showing the latest push, instead of one more comment per push and
stacks overwriting each other's.

    GITHUB_TOKEN=… python -m scripts.deploy.upsert_pr_comment --repository owner/name \\
        --pull-request 42 --stack staging --body-file comment.md

Needs `permissions: pull-requests: write` on the job. GITHUB_API_URL is honoured (GHES).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from scripts.deploy.errors import DeployError
from scripts.deploy.github_actions import run_main
from scripts.deploy.render_preview_comment import GITHUB_COMMENT_LIMIT, preview_marker

DEFAULT_API_URL = "https://api.github.com"
# The identity GITHUB_TOKEN acts as. Only its comments are candidates: anyone can paste a marker.
DEFAULT_AUTHOR = "github-actions[bot]"
PAGE_SIZE = 100


@dataclass(frozen=True)
class UpsertResult:
    action: str  # "created" or "updated"
    comment_id: int
    url: str


def github_client(token: str, api_url: str = DEFAULT_API_URL) -> httpx.Client:
    return httpx.Client(
        base_url=api_url.rstrip("/"),
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "shipyard-delivery",
        },
        timeout=httpx.Timeout(30.0),
    )


def _check(response: httpx.Response, doing: str) -> httpx.Response:
    if response.is_success:
        return response
    hint = {
        401: "the token is missing or expired",
        403: "the token may not write here: the job needs `permissions: pull-requests: write` "
        "(pull requests from forks only ever get a read-only token)",
        404: "no such repository or pull request, or the token cannot see it",
        422: "GitHub refused the body (too long or malformed)",
    }.get(response.status_code, "GitHub answered with an error")
    raise DeployError(f"{doing}: HTTP {response.status_code} ({hint}): {response.text[:300]}")


def _list_comments(client: httpx.Client, repository: str, number: int) -> Iterator[dict[str, Any]]:
    url: str | None = f"/repos/{repository}/issues/{number}/comments"
    params: dict[str, Any] | None = {"per_page": PAGE_SIZE}
    while url:
        response = _check(client.get(url, params=params), f"listing comments of #{number}")
        yield from response.json()
        url = response.links.get("next", {}).get("url")
        params = None  # the `next` link already carries the query


def find_marked_comment(
    client: httpx.Client, *, repository: str, number: int, marker: str, author: str
) -> dict[str, Any] | None:
    """The oldest comment by `author` whose body starts with `marker`, or None."""
    for comment in _list_comments(client, repository, number):
        login = (comment.get("user") or {}).get("login")
        if login == author and (comment.get("body") or "").lstrip().startswith(marker):
            return comment
    return None


def upsert_comment(
    client: httpx.Client,
    *,
    repository: str,
    number: int,
    marker: str,
    body: str,
    author: str = DEFAULT_AUTHOR,
) -> UpsertResult:
    if not body.lstrip().startswith(marker):
        raise DeployError(
            f"the comment body must start with its marker {marker!r}, or the next run could not "
            "find it to update; render it with scripts.deploy.render_preview_comment"
        )
    if len(body) > GITHUB_COMMENT_LIMIT:
        raise DeployError(
            f"the body has {len(body):,} characters; GitHub refuses more than "
            f"{GITHUB_COMMENT_LIMIT:,}. Render it with render_preview_comment, which truncates"
        )
    existing = find_marked_comment(
        client, repository=repository, number=number, marker=marker, author=author
    )
    if existing is not None:
        response = _check(
            client.patch(
                f"/repos/{repository}/issues/comments/{existing['id']}", json={"body": body}
            ),
            f"updating comment {existing['id']}",
        )
        action = "updated"
    else:
        response = _check(
            client.post(f"/repos/{repository}/issues/{number}/comments", json={"body": body}),
            f"commenting on #{number}",
        )
        action = "created"
    data = response.json()
    return UpsertResult(action, int(data["id"]), str(data.get("html_url", "")))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", required=True, help="owner/name")
    parser.add_argument("--pull-request", type=int, required=True)
    parser.add_argument("--stack", required=True, help="whose marker to look for")
    parser.add_argument("--body-file", type=Path, required=True)
    parser.add_argument("--author", default=DEFAULT_AUTHOR, help="login that owns the comment")
    args = parser.parse_args(argv)

    def body() -> int:
        token = os.environ.get("GITHUB_TOKEN", "")
        if not token:
            raise DeployError("GITHUB_TOKEN is not set; pass ${{ github.token }} in the step's env")
        api_url = os.environ.get("GITHUB_API_URL", DEFAULT_API_URL)
        with github_client(token, api_url) as client:
            result = upsert_comment(
                client,
                repository=args.repository,
                number=args.pull_request,
                marker=preview_marker(args.stack),
                body=args.body_file.read_text(encoding="utf-8"),
                author=args.author,
            )
        print(f"{result.action} comment {result.comment_id} {result.url}")
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
