"""Every pull request a deploy or a merge group contains, with its labels and label timeline.

A merge queue merges up to five pull requests in one group, and main then moves by all of them in
one push: one deploy, one plan, several pull requests. The destructive-change gate must judge all
of them (scripts/deploy/destructive_gate.py states the rule), so this collects them from GitHub's
REST API:

- the commits between the base and the head: `GET /repos/{owner}/{repo}/compare/{base}...{head}`
  (a push: `github.event.before`..`github.sha`; a merge group: its `base_sha`..`head_sha`);
- each commit's pull requests: `GET /repos/{owner}/{repo}/commits/{sha}/pulls` (on the default
  branch, the merged pull request that introduced the commit; elsewhere, such as the queue's
  `gh-readonly-queue/...` branch, the open pull requests whose head holds it);
- in a merge group only, the number GitHub writes into the commits it makes for the queue
  (squash: `<title> (#N)`; merge: `Merge pull request #N from ...`): a squashed queue commit
  is associated with no pull request yet. Such a number can only add a pull request to the group,
  which makes the gate stricter, never looser;
- each pull request's labels and author (`GET /repos/{owner}/{repo}/pulls/{n}`) and its label
  timeline (`GET /repos/{owner}/{repo}/issues/{n}/events`), the record of who added a label.

A commit nothing accounts for (a push straight to main) is listed as `unattributed`: no label
can approve a destructive change it may have made.

    python -m scripts.deploy.pull_group --repository O/R --event push \\
        --base "$BEFORE" --head "$GITHUB_SHA" --output group.json

Writes the file and the step output `labels`: the labels every pull request of the group carries
(a JSON array, for the preview comment). Reads GITHUB_TOKEN (or GH_TOKEN) and GITHUB_API_URL
(GitHub's own variable; default https://api.github.com).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from scripts.deploy.errors import DeployError, read_json
from scripts.deploy.github_actions import run_main, set_output

Event = Literal["push", "merge_group"]
DEFAULT_API = "https://api.github.com"
NO_COMMIT = "0" * 40  # github.event.before of a branch's first push
PER_PAGE = 100
# The first line of the commits GitHub's merge queue writes (merge_method SQUASH or MERGE).
QUEUE_MESSAGE = re.compile(
    r"^(?:Merge pull request #(?P<merge>\d+) from \S+|.* \(#(?P<squash>\d+)\))$"
)
GROUP_FILE_MADE_BY = "python -m scripts.deploy.pull_group --output FILE"


@dataclass(frozen=True)
class GroupPull:
    number: int
    author: str
    labels: tuple[str, ...]
    label_events: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class PullGroup:
    event: str
    base: str
    head: str
    pulls: tuple[GroupPull, ...] = ()
    unattributed: tuple[str, ...] = field(default=())  # commit SHAs no pull request accounts for

    def describe(self) -> str:
        numbers = ", ".join(f"#{p.number}" for p in self.pulls) or "no pull request"
        stray = f" and {len(self.unattributed)} commit(s) of none" if self.unattributed else ""
        return f"{numbers}{stray} ({self.base[:12]}..{self.head[:12]})"


def common_labels(group: PullGroup) -> frozenset[str]:
    """The labels every pull request of the group carries; none when a commit is no pull
    request's (or there is no pull request at all)."""
    if group.unattributed or not group.pulls:
        return frozenset()
    return frozenset.intersection(*(frozenset(pull.labels) for pull in group.pulls))


class GitHub:
    """The few REST calls above, with paging; any transport (tests use recorded answers)."""

    def __init__(self, client: httpx.Client, repository: str) -> None:
        self.client = client
        self.repository = repository

    def _get(self, path: str, **params: Any) -> httpx.Response:
        response = self.client.get(f"/repos/{self.repository}/{path}", params=params or None)
        if response.status_code != 200:
            raise DeployError(
                f"GET /repos/{self.repository}/{path} answered {response.status_code}: "
                f"{response.text[:300]} (does the job's token have contents, pull-requests and "
                "issues read?)"
            )
        return response

    def compare(self, base: str, head: str) -> list[Mapping[str, Any]]:
        commits: list[Mapping[str, Any]] = []
        page = 1
        while True:
            body = self._get(f"compare/{base}...{head}", per_page=PER_PAGE, page=page).json()
            commits.extend(body.get("commits") or [])
            if len(commits) >= int(body.get("total_commits") or 0) or not body.get("commits"):
                return commits
            page += 1

    def _pages(self, path: str) -> Iterator[Mapping[str, Any]]:
        page = 1
        while True:
            items = self._get(path, per_page=PER_PAGE, page=page).json()
            yield from items
            if len(items) < PER_PAGE:
                return
            page += 1

    def commit_pulls(self, sha: str) -> list[Mapping[str, Any]]:
        return list(self._get(f"commits/{sha}/pulls").json())

    def pull(self, number: int) -> Mapping[str, Any]:
        return dict(self._get(f"pulls/{number}").json())

    def label_events(self, number: int) -> list[Mapping[str, Any]]:
        return [
            event
            for event in self._pages(f"issues/{number}/events")
            if event.get("event") in ("labeled", "unlabeled")
        ]


def queue_message_number(message: str) -> int | None:
    first_line = message.splitlines()[0] if message else ""
    match = QUEUE_MESSAGE.match(first_line)
    if match is None:
        return None
    return int(match["merge"] or match["squash"])


def _pulls_of_commit(answer: Sequence[Mapping[str, Any]], event: Event) -> set[int]:
    if event == "push":  # on main: only pull requests that were merged count
        return {int(p["number"]) for p in answer if p.get("merged_at")}
    return {int(p["number"]) for p in answer if p.get("state") == "open"}


def collect(github: GitHub, *, event: Event, base: str, head: str) -> PullGroup:
    if not base or base == NO_COMMIT:
        return PullGroup(event=event, base=base or NO_COMMIT, head=head)
    numbers: set[int] = set()
    unattributed: list[str] = []
    for commit in github.compare(base, head):
        sha = str(commit["sha"])
        found = _pulls_of_commit(github.commit_pulls(sha), event)
        if event == "merge_group":
            named = queue_message_number(str((commit.get("commit") or {}).get("message") or ""))
            if named is not None:
                found.add(named)
        if found:
            numbers |= found
        else:
            unattributed.append(sha)
    pulls = []
    for number in sorted(numbers):
        pull = github.pull(number)
        pulls.append(
            GroupPull(
                number=number,
                author=str((pull.get("user") or {}).get("login") or ""),
                labels=tuple(sorted(str(label["name"]) for label in pull.get("labels") or [])),
                label_events=tuple(github.label_events(number)),
            )
        )
    return PullGroup(event, base, head, tuple(pulls), tuple(unattributed))


def load_group(path: Path) -> PullGroup:
    data = read_json(path, made_by=GROUP_FILE_MADE_BY)
    try:
        return PullGroup(
            event=str(data["event"]),
            base=str(data["base"]),
            head=str(data["head"]),
            pulls=tuple(
                GroupPull(
                    number=int(p["number"]),
                    author=str(p["author"]),
                    labels=tuple(p["labels"]),
                    label_events=tuple(p.get("label_events") or ()),
                )
                for p in data["pulls"]
            ),
            unattributed=tuple(data.get("unattributed") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DeployError(
            f"{path} is not a pull group ({exc}); write it with `{GROUP_FILE_MADE_BY}`"
        ) from exc


def client_from_environment() -> httpx.Client:
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    if not token:
        raise DeployError("set GITHUB_TOKEN (the job's `github.token`) to read the pull requests")
    return httpx.Client(
        base_url=os.environ.get("GITHUB_API_URL") or DEFAULT_API,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        timeout=30,
    )


def main(argv: Sequence[str] | None = None, client: httpx.Client | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", required=True, help="OWNER/NAME")
    parser.add_argument("--event", choices=["push", "merge_group"], required=True)
    parser.add_argument("--base", default="", help="the commit before (empty: a rollback)")
    parser.add_argument("--head", required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)

    def body() -> int:
        with client or client_from_environment() as http:
            group = collect(
                GitHub(http, args.repository), event=args.event, base=args.base, head=args.head
            )
        args.output.write_text(json.dumps(asdict(group), indent=2) + "\n", encoding="utf-8")
        print(f"the {args.event} contains {group.describe()}")
        set_output("labels", json.dumps(sorted(common_labels(group))))
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
