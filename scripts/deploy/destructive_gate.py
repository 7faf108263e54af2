"""Refuse a plan that replaces or deletes a stateful resource unless the pull request approves it.

A replace of the production database (or a queue, a bucket, a key…) shows in a preview as one
line among dozens; a merge then rolls it out. This gate reads the plan as data (`plan_json`),
picks out every `replace`/`delete` of a type on the declared stateful list
(`platform/infra/stateful.py`) and fails unless the pull request carries the label
`allow-destructive:<stack>` — an explicit approval, per stack, recorded on the pull request. The
failure names each resource and the label to add.

It runs twice per stack: on the pull request's preview (labels from the event) and before each
deploy of that stack (labels of the pull request that was merged into the deployed commit):

    python -m scripts.deploy.destructive_gate --stack prod --plan plan-prod.json \\
        --labels "$PR_LABELS_JSON"
    gh api "repos/$GITHUB_REPOSITORY/commits/$GITHUB_SHA/pulls" > pulls.json
    python -m scripts.deploy.destructive_gate --stack prod --plan plan-prod.json \\
        --commit-pulls pulls.json --commit "$GITHUB_SHA"

A deploy, or a merge group, may contain several pull requests (a merge queue merges up to five
together). The gate cannot tell which of them caused a replacement: the plan is the sum of all of
them. So the rule is: **a destructive change in a group is approved only when every pull request
in the group carries the stack's label, each added by someone other than that pull request's
author, and every commit of the group belongs to one of them** (`--group`, written by
scripts/deploy/pull_group.py). One pull request's label never approves another's change; a
harmless pull request queued beside an approved destructive one fails the group, and the queue
retries it without the other (docs/delivery.md, *Approving a destructive change*).

    python -m scripts.deploy.destructive_gate --stack prod --plan plan-prod.json --group group.json

Step outputs: `destructive` (true/false), `approved` (true/false), `urns` (one per line: what an
approved deploy must `pulumi state unprotect` first, since prod protects these resources), and
with `--label-events` (the pull request's timeline) `approved_by`: who added the label and when;
an approval by the pull request's own `--author` is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.stateful import STATEFUL_TYPES
from scripts.deploy.errors import DeployError, read_json
from scripts.deploy.github_actions import annotate, append_summary, run_main, set_output
from scripts.deploy.plan_json import Plan, ResourceChange, load_plan
from scripts.deploy.pull_group import PullGroup, common_labels, load_group

DOC = "docs/delivery.md#approving-a-destructive-change"


def approval_label(stack: str) -> str:
    return f"allow-destructive:{stack}"


def stateful_types() -> Mapping[str, str]:
    """The program's declared list (platform/infra/stateful.py, its one home; `infra` is
    installed with the project, and the module needs only the standard library and pulumi)."""
    return STATEFUL_TYPES


def destructive_changes(
    plan: Plan, stateful: Mapping[str, str] | None = None
) -> tuple[ResourceChange, ...]:
    """Every replace or delete of a stateful resource, in plan order."""
    kinds = stateful_types() if stateful is None else stateful
    return tuple(c for c in plan.changes if c.destroys_existing and c.type in kinds)


@dataclass(frozen=True)
class Verdict:
    stack: str
    allowed: bool
    destructive: tuple[ResourceChange, ...]
    approved: bool
    message: str

    @property
    def label(self) -> str:
        return approval_label(self.stack)


def _describe(change: ResourceChange) -> str:
    forced = f" (forced by {', '.join(change.replace_reasons)})" if change.replace_reasons else ""
    return f"{change.action} {change.type} {change.name}{forced}"


def judge(
    plan: Plan,
    *,
    stack: str,
    labels: Iterable[str],
    stateful: Mapping[str, str] | None = None,
) -> Verdict:
    """Allowed: nothing stateful is replaced or deleted, or the stack's label approves it.

    Fails closed on a preview that did not finish or reported other errors: such a plan cannot
    show what would happen. Pulumi's own refusal to replace or delete a `protect`ed resource (an
    error in prod's preview) is the expected echo of an approved destructive change, not another
    error; the deploy unprotects exactly those URNs (the `urns` output) before `pulumi up`.
    """
    if plan.stack is not None and plan.stack != stack:
        raise DeployError(
            f"the plan is for stack {plan.stack!r} but the gate was asked about {stack!r}"
        )
    label = approval_label(stack)
    approved = label in set(labels)
    found = destructive_changes(plan, stateful)
    listing = "; ".join(_describe(change) for change in found)
    if found and not approved:
        return Verdict(
            stack,
            False,
            found,
            False,
            f"{stack}: this change would {listing}. That loses data or an address that code "
            f"cannot bring back. If it is intended, have a maintainer add the label `{label}` to "
            "the pull request (then re-run this check); otherwise change the code so that the "
            f"plan updates in place. See {DOC}.",
        )
    if not plan.finished:
        return Verdict(
            stack,
            False,
            found,
            approved,
            f"{stack}: the preview stopped before its end, so its plan cannot show that no "
            "stateful resource is replaced or deleted; fix the preview (see the run log) and run "
            "it again",
        )
    urns = [change.urn for change in found]
    unexplained = [
        error
        for error in plan.errors
        if not (error.is_protection_refusal and any(error.concerns(urn) for urn in urns))
    ]
    if unexplained:
        where = unexplained[0].urn or "the stack"
        return Verdict(
            stack,
            False,
            found,
            approved,
            f"{stack}: the preview reported {len(unexplained)} error(s) (first: {where}); a "
            "failed preview cannot show what a deploy would do. Fix it (see the run log), then "
            "run it again",
        )
    if not found:
        return Verdict(
            stack, True, (), approved, f"{stack}: no stateful resource is replaced or deleted"
        )
    return Verdict(
        stack,
        True,
        found,
        True,
        f"{stack}: {len(found)} stateful resource(s) replaced or deleted, approved by the label "
        f"{label}: {listing}",
    )


# --- the comment block (also the job summary) -------------------------------------------------


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def render_block(
    plan: Plan, *, stack: str, labels: Iterable[str] = (), stateful: Mapping[str, str] | None = None
) -> str:
    """The "Destructive changes" block that opens a stack's PR comment; "" when there is none."""
    kinds = stateful_types() if stateful is None else stateful
    verdict = judge(plan, stack=stack, labels=labels, stateful=kinds)
    if not plan.finished and not verdict.destructive:
        return f"### ⚠️ Destructive changes · `{stack}` could not be checked\n\n{verdict.message}."
    if not verdict.destructive:
        return ""
    count = len(verdict.destructive)
    if verdict.approved:
        status = f"✅ Approved with the label {_code(verdict.label)}."
    else:
        status = (
            f"⛔ `{stack}` will not deploy this without the label {_code(verdict.label)} on this "
            f"pull request (why, and who may add it: `docs/delivery.md`, *Approving a destructive "
            "change*)."
        )
    rows = [
        "| operation | type | logical name | forced by | what is lost |",
        "| --- | --- | --- | --- | --- |",
    ]
    for change in verdict.destructive:
        forced = ", ".join(_code(key) for key in change.replace_reasons) or "—"
        rows.append(
            f"| **{change.action}** | {_code(change.type)} | {_code(change.name)} | {forced} "
            f"| {kinds.get(change.type, '')} |"
        )
    return (
        f"### ⛔ Destructive changes · `{stack}`: {count} stateful resource"
        f"{'s' if count != 1 else ''} replaced or deleted\n\n{status}\n\n" + "\n".join(rows)
    )


# --- where the labels come from -----------------------------------------------------------------


def parse_labels(text: str) -> frozenset[str]:
    """Labels as the workflow passes them: a JSON array (`toJSON(...labels.*.name)`) or a
    comma/newline-separated list."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            names = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise DeployError(f"--labels looks like JSON but is not ({exc})") from exc
        return frozenset(str(name).strip() for name in names if str(name).strip())
    return frozenset(p.strip() for p in stripped.replace("\n", ",").split(",") if p.strip())


def _label_names(pull: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(
        str(label.get("name")) for label in pull.get("labels") or [] if isinstance(label, Mapping)
    )


def merged_pull_for_commit(pulls: Any, commit: str) -> Mapping[str, Any] | None:
    """The pull request a commit on the default branch came from.

    `pulls` is GitHub's answer to `GET /repos/{owner}/{repo}/commits/{sha}/pulls`: the pull requests
    associated with the commit. The one merged *as* this commit (`merge_commit_sha`; a merge, squash
    or merge-queue commit) wins; a commit that is the head of exactly one merged pull request (a
    fast-forward) is the fallback. A push straight to main has none: no approval.
    """
    if not isinstance(pulls, list):
        raise DeployError(
            "the commit's pull requests must be the JSON list that "
            "`gh api repos/OWNER/REPO/commits/SHA/pulls` prints"
        )
    merged = [p for p in pulls if isinstance(p, Mapping) and p.get("merged_at")]
    for pull in merged:
        if pull.get("merge_commit_sha") == commit:
            return pull
    heads = [p for p in merged if (p.get("head") or {}).get("sha") == commit]
    return heads[0] if len(heads) == 1 else None


def labels_of_merged_pull(pulls: Any, commit: str) -> tuple[frozenset[str], str]:
    """(labels, a sentence saying where they came from) for the deploy of `commit`."""
    pull = merged_pull_for_commit(pulls, commit)
    if pull is None:
        return frozenset(), f"no merged pull request produced commit {commit[:12]}"
    return _label_names(pull), f"pull request #{pull.get('number')} (merged as {commit[:12]})"


def labels_of_group(group: PullGroup, stack: str) -> tuple[frozenset[str], str]:
    """(labels, where they came from): the stack's label counts only when every pull request of
    the group carries it and no commit of the group lies outside them."""
    label = approval_label(stack)
    if label in common_labels(group):
        return frozenset({label}), f"{group.describe()}: every one carries `{label}`"
    if not group.pulls and not group.unattributed:
        return frozenset(), f"no pull request ({group.describe()})"
    lacking = [f"#{pull.number}" for pull in group.pulls if label not in pull.labels]
    problems = []
    if lacking:
        problems.append(f"{', '.join(lacking)} lack `{label}`")
    if group.unattributed:
        problems.append(
            f"commit(s) {', '.join(sha[:12] for sha in group.unattributed)} came from no pull "
            "request, so nobody can approve what they change"
        )
    return frozenset(), f"{group.describe()}: " + "; ".join(problems)


@dataclass(frozen=True)
class Approval:
    """Who added the approving label and when: the record on the pull request's timeline."""

    login: str
    at: str


def approval_record(events: Any, label: str) -> Approval | None:
    """The `labeled` event that put `label` on the pull request and was not undone since.

    `events` is GitHub's answer to `GET /repos/{owner}/{repo}/issues/{number}/events`, oldest
    first (`gh api --paginate --slurp` pages, a list of lists, are read too). A label removed and
    added again counts from its last addition, by whoever added it.
    """
    if isinstance(events, list) and all(isinstance(page, list) for page in events):
        events = [event for page in events for event in page]
    if not isinstance(events, list):
        raise DeployError(
            "the label events must be the JSON list that "
            "`gh api repos/OWNER/REPO/issues/NUMBER/events` prints"
        )
    current: Approval | None = None
    for event in events:
        if not isinstance(event, Mapping) or (event.get("label") or {}).get("name") != label:
            continue
        if event.get("event") == "labeled":
            actor = (event.get("actor") or {}).get("login") or "unknown"
            current = Approval(str(actor), str(event.get("created_at")))
        elif event.get("event") == "unlabeled":
            current = None
    return current


def check_approver(approval: Approval | None, *, label: str, author: str | None) -> str:
    """A sentence for the record; refuses an approval by the pull request's own author."""
    if approval is None:
        raise DeployError(
            f"the pull request's timeline has no standing `{label}` label event; add the label "
            "again (its events are the approval record)"
        )
    if author and approval.login == author:
        raise DeployError(
            f"`{label}` was added by @{approval.login}, the pull request's author; someone else "
            "must add it (remove it and have a reviewer add it)"
        )
    return f"approved by @{approval.login} at {approval.at} (label `{label}`)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument(
        "--plan", type=Path, required=True, help="preview --json, event log or sanitised plan"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--labels", help="the pull request's labels (JSON array or a,b,c)")
    source.add_argument(
        "--group",
        type=Path,
        help="every pull request of a deploy or merge group (python -m scripts.deploy.pull_group)",
    )
    source.add_argument(
        "--commit-pulls",
        type=Path,
        help="`gh api repos/OWNER/REPO/commits/SHA/pulls` output (deploys: needs --commit)",
    )
    parser.add_argument("--commit", help="the deployed commit (with --commit-pulls)")
    parser.add_argument(
        "--label-events",
        type=Path,
        help="`gh api repos/OWNER/REPO/issues/N/events`: record who approved, and refuse an "
        "approval by --author",
    )
    parser.add_argument("--author", help="the pull request's author (with --label-events)")
    args = parser.parse_args(argv)

    def body() -> int:
        group = load_group(args.group) if args.group is not None else None
        if group is not None:
            labels, origin = labels_of_group(group, args.stack)
        elif args.commit_pulls is not None:
            if not args.commit:
                raise DeployError("--commit-pulls needs --commit <the deployed commit's SHA>")
            pulls = read_json(
                args.commit_pulls, made_by="gh api repos/OWNER/REPO/commits/SHA/pulls"
            )
            labels, origin = labels_of_merged_pull(pulls, args.commit)
        else:
            labels, origin = parse_labels(args.labels), "the pull request"
        plan = load_plan(args.plan)
        verdict = judge(plan, stack=args.stack, labels=labels)
        set_output("destructive", "true" if verdict.destructive else "false")
        set_output("approved", "true" if verdict.approved else "false")
        set_output("urns", "\n".join(change.urn for change in verdict.destructive))
        block = render_block(plan, stack=args.stack, labels=labels)
        if block:
            append_summary(f"{block}\n\nLabels read from {origin}.")
        if not verdict.allowed:
            where = f" Pull requests: {origin}." if group is not None else ""
            raise DeployError(verdict.message + where)
        if verdict.destructive and group is not None:
            records = []
            for pull in group.pulls:
                try:
                    record = check_approver(
                        approval_record(list(pull.label_events), verdict.label),
                        label=verdict.label,
                        author=pull.author,
                    )
                except DeployError as refused:
                    raise DeployError(f"pull request #{pull.number}: {refused}") from None
                records.append(f"#{pull.number} {record}")
            set_output("approved_by", "; ".join(records))
            append_summary(f"Destructive changes in `{args.stack}`: " + "; ".join(records) + ".")
        elif verdict.destructive and args.label_events is not None:
            events = read_json(args.label_events, made_by="gh api repos/OWNER/REPO/issues/N/events")
            record = check_approver(
                approval_record(events, verdict.label), label=verdict.label, author=args.author
            )
            set_output("approved_by", record)
            append_summary(f"Destructive changes in `{args.stack}` {record}.")
        annotate("notice" if not verdict.destructive else "warning", verdict.message)
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
