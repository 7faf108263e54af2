"""Render `pulumi preview` output as a pull-request comment body: summary first, size-capped.

`pulumi preview --diff` prints the diff first and its summary (resource counts, policy results,
diagnostics) last, and a large change easily exceeds GitHub's 65,536-character comment limit, at
which point the API refuses the whole comment. This renderer puts the verdict, the counts, the
policy results and the diagnostics at the top, then the diff in a collapsed block, cut to fit with a
note that says how much was left out and where the complete output is (the run log).

The first line is a hidden per-stack marker that `upsert_pr_comment` uses to find and update this
stack's comment instead of adding a new one on every push.

    pulumi preview --stack staging --diff --color never ... 2>&1 | tee preview.txt
    python -m scripts.deploy.render_preview_comment --stack staging --preview-file preview.txt \\
        --outcome success --run-url "$RUN_URL" --commit "$SHA" --output comment.md \\
        --plan plan-staging.json --labels "$PR_LABELS_JSON"

With `--plan` (the machine-readable plan, see `plan_json`), a comment opens with a "Destructive
changes" block when the plan replaces or deletes a stateful resource (`destructive_gate`); a plan
without one renders exactly as before. With `--cost-head` (and `--cost-base`), the monthly cost
before and after the change follows the summary (`cost_comment`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scripts.deploy.cost_comment import render_cost_block
from scripts.deploy.destructive_gate import parse_labels, render_block
from scripts.deploy.errors import DeployError
from scripts.deploy.github_actions import append_summary, run_main
from scripts.deploy.plan_json import load_plan

GITHUB_COMMENT_LIMIT = 65_536
# Stay clearly below the limit: GitHub counts characters after its own normalisation.
DEFAULT_MAX_CHARS = 65_000
# The top sections are capped too, so a flood of diagnostics cannot push the summary out.
SECTION_MAX_CHARS = 12_000

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_SECTION_HEADER = re.compile(r"^(Diagnostics|Outputs|Resources|Policies|Policy Violations):\s*$")
_CHANGE_TOTAL = re.compile(r"^\s*(?P<changes>\d+ changes?)\. (?P<unchanged>\d+ unchanged)")
_RESOURCE_COUNT = re.compile(
    r"^\s*(?P<sign>\+-|[-+~<>])?\s*(?P<count>\d+) (?P<what>to \w+|unchanged)"
)


def preview_marker(stack: str) -> str:
    """The hidden first line that identifies a stack's preview comment.

    Deliberately not the project's name (Pulumi.yaml's `name:`): upsert_pr_comment.py finds the
    comment to update by this exact line, so a marker that followed a rename would orphan every
    open pull request's comment and post a second one beside it. It is an identifier of this
    tool's comments, never shown (an HTML comment), and renaming the project changes no
    behaviour through it; keep it as it is.
    """
    return f"<!-- shipyard:pulumi-preview stack={stack} -->"


@dataclass
class PreviewReport:
    """`pulumi preview` output split into the diff and the summary sections printed after it."""

    diff: list[str] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)
    trailer: list[str] = field(default_factory=list)  # column-0 lines after the diff (errors)

    @property
    def resources(self) -> list[str]:
        return self.sections.get("Resources", [])

    @property
    def policies(self) -> list[str]:
        return self.sections.get("Policies", []) + self.sections.get("Policy Violations", [])

    @property
    def diagnostics(self) -> list[str]:
        return self.sections.get("Diagnostics", [])


def parse_preview(text: str) -> PreviewReport:
    report = PreviewReport()
    current: list[str] | None = None  # None: still in the diff
    for raw in _ANSI.sub("", text).replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        header = _SECTION_HEADER.match(line)
        if header:
            current = report.sections.setdefault(header[1], [])
        elif current is None:
            report.diff.append(line)
        elif line and not line[0].isspace():
            # A column-0 line ends a section: "Duration: 12s", "error: ...", a browser link.
            current = report.trailer
            if not line.startswith(("Duration:", "View in Browser", "View Live")):
                report.trailer.append(line)
        elif line:
            current.append(line)
    while report.diff and not report.diff[-1].strip():
        report.diff.pop()
    return report


def summarise_resources(lines: Sequence[str]) -> str:
    """'+ 2 to create · ~ 1 to update · 12 unchanged', or a plain 'no changes'."""
    parts = []
    for line in lines:
        total = _CHANGE_TOTAL.match(line)  # "4 changes. 37 unchanged"
        if total:
            parts += [total["changes"], total["unchanged"]]
            continue
        match = _RESOURCE_COUNT.match(line)
        if match:
            sign = match["sign"] or ""
            parts.append(f"{sign} {match['count']} {match['what']}".strip())
    if not parts:
        return "no resource summary (the preview did not get that far)"
    if all(part.endswith("unchanged") for part in parts):
        return f"no changes ({parts[0]})"
    return " · ".join(parts)


def _fence(text: str) -> str:
    """A code fence longer than any backtick run inside, so the content cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _code_block(lines: Sequence[str], language: str = "text") -> str:
    text = "\n".join(lines)
    fence = _fence(text)
    return f"{fence}{language}\n{text}\n{fence}"


def _cap_lines(lines: Sequence[str], max_chars: int) -> tuple[list[str], int]:
    """The longest prefix of `lines` within `max_chars` (newlines counted); how many were cut."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        cost = len(line) + 1
        if used + cost > max_chars:
            return kept, len(lines) - index
        kept.append(line)
        used += cost
    return kept, 0


_CHANGE_MARKERS = (("+-", "!"), ("-+", "!"), ("+ ", "+"), ("- ", "-"), ("~ ", "!"))


def _diff_highlight(line: str) -> str:
    """Move Pulumi's change marker to column 0 so GitHub's `diff` highlighting colours the line.

    `    +-aws:s3/bucket:Bucket` becomes `!     aws:s3/bucket:Bucket`: same width, same alignment.
    """
    stripped = line.lstrip()
    indent = len(line) - len(stripped)
    if indent == 0:
        return line
    for marker, shown in _CHANGE_MARKERS:
        if stripped.startswith(marker):
            return shown + " " * (indent - 1 + len(marker)) + stripped[len(marker) :].lstrip()
    return line


def _capped_section(title: str, lines: Sequence[str], run_url: str | None) -> str:
    kept, cut = _cap_lines(lines, SECTION_MAX_CHARS)
    block = f"**{title}**\n\n{_code_block(kept)}"
    if cut:
        block += f"\n\n_{cut} more lines not shown; {_where_full(run_url)}._"
    return block


def _where_full(run_url: str | None) -> str:
    return (
        f"the complete output is in the [run log]({run_url})"
        if run_url
        else ("the complete output is in the workflow run log")
    )


def render_comment(
    *,
    stack: str,
    preview_text: str,
    outcome: str,
    run_url: str | None = None,
    commit: str | None = None,
    title: str = "Pulumi preview",
    max_chars: int = DEFAULT_MAX_CHARS,
    destructive_block: str = "",
    cost_block: str = "",
) -> str:
    if max_chars < 2_000:
        raise DeployError(f"max_chars={max_chars} leaves no room for a summary; use >= 2000")
    report = parse_preview(preview_text)
    succeeded = outcome == "success"
    icon = {"success": "✅", "failure": "❌", "cancelled": "⚪"}.get(outcome, "⚠️")
    verdict = {
        "success": "succeeded",
        "failure": "failed",
        "cancelled": "was cancelled",
        "skipped": "did not run (an earlier step failed; see the run log)",
    }.get(outcome, f"ended with outcome '{outcome}'")
    context = []
    if commit:
        context.append(f"commit `{commit[:12]}`")
    if run_url:
        context.append(f"[run log]({run_url})")

    head = [
        preview_marker(stack),
        # The danger first, above the verdict and the summary (destructive_gate.render_block).
        *([destructive_block, ""] if destructive_block else []),
        f"### {icon} {title} · `{stack}` {verdict}",
        "",
        f"**Resources:** {summarise_resources(report.resources)}",
    ]
    if context:
        head += ["", " · ".join(context)]
    sections = [cost_block] if cost_block else []
    if report.policies:
        sections.append(_capped_section("Policies", report.policies, run_url))
    problems = report.diagnostics + ([""] if report.diagnostics and report.trailer else [])
    problems += report.trailer
    if problems and (not succeeded or any("error" in line for line in problems)):
        sections.append(_capped_section("Diagnostics and errors", problems, run_url))
    elif report.diagnostics:
        sections.append(_capped_section("Diagnostics", report.diagnostics, run_url))
    top = "\n".join(head) + "".join(f"\n\n{section}" for section in sections)

    shown_lines = list(report.diff)
    if report.sections.get("Outputs"):
        shown_lines += ["", "Outputs:", *report.sections["Outputs"]]
    diff_lines = [_diff_highlight(line) for line in shown_lines]
    if not any(line.strip() for line in diff_lines):
        return top + "\n"
    # Reserve room for the wrapper and the longest possible truncation note before cutting.
    fence = _fence("\n".join(diff_lines))
    wrapper = (
        f"\n\n<details><summary>Diff ({len(diff_lines)} lines)</summary>\n\n"
        f"{fence}diff\n\n{fence}\n</details>\n"
    )
    note_room = 400 + len(run_url or "")
    budget = max_chars - len(top) - len(wrapper) - note_room
    kept, cut = _cap_lines(diff_lines, max(budget, 0))
    note = ""
    if cut:
        shown = f"{len(kept)} of {len(diff_lines)}"
        note = (
            f"\n_Diff truncated: {shown} lines shown ({cut} not shown) because GitHub limits a "
            f"comment to {GITHUB_COMMENT_LIMIT:,} characters; {_where_full(run_url)}._\n"
        )
        top = top.replace(
            f"**Resources:** {summarise_resources(report.resources)}",
            f"**Resources:** {summarise_resources(report.resources)} (diff truncated below)",
            1,
        )
    body = (
        f"{top}\n\n<details><summary>Diff ({len(diff_lines)} lines)</summary>\n\n"
        f"{fence}diff\n" + "\n".join(kept) + f"\n{fence}\n{note}</details>\n"
    )
    if len(body) > max_chars:  # cannot happen with the budget above; refuse rather than post junk
        raise DeployError(f"rendered comment has {len(body)} characters, over {max_chars}")
    return body


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--preview-file", type=Path, required=True, help="captured pulumi output")
    parser.add_argument(
        "--outcome", default="success", help="the preview step's outcome (success/failure/…)"
    )
    parser.add_argument("--run-url", help="link to the workflow run with the complete output")
    parser.add_argument("--commit", help="the commit that was previewed")
    parser.add_argument("--title", default="Pulumi preview")
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS)
    parser.add_argument("--output", type=Path, required=True, help="where to write the body")
    parser.add_argument(
        "--summary", action="store_true", help="also append the body to the job summary"
    )
    parser.add_argument("--plan", type=Path, help="machine-readable plan (destructive changes)")
    parser.add_argument("--labels", default="", help="the pull request's labels, with --plan")
    parser.add_argument("--cost-base", type=Path, help="cost estimate of the base commit (JSON)")
    parser.add_argument("--cost-head", type=Path, help="cost estimate of the head commit (JSON)")
    args = parser.parse_args(argv)

    def body() -> int:
        try:
            text = args.preview_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            # The preview step died before writing anything (e.g. login failed): say so.
            text = f"error: {args.preview_file} was not written; see the run log"
        rendered = render_comment(
            stack=args.stack,
            preview_text=text,
            outcome=args.outcome,
            run_url=args.run_url,
            commit=args.commit,
            title=args.title,
            max_chars=args.max_chars,
            destructive_block=_destructive_block(args.plan, args.stack, args.labels),
            cost_block=render_cost_block(args.stack, args.cost_base, args.cost_head),
        )
        args.output.write_text(rendered, encoding="utf-8")
        if args.summary:
            append_summary(rendered)
        print(f"wrote {args.output} ({len(rendered):,} characters)")
        return 0

    return run_main(body)


# --- destructive changes (the plan read as data; see scripts/deploy/destructive_gate.py) --------


def _destructive_block(plan_path: Path | None, stack: str, labels: str) -> str:
    if plan_path is None:
        return ""
    if not plan_path.is_file():
        # The preview died before writing its plan: its own errors are in the comment already.
        return (
            f"### ⚠️ Destructive changes · `{stack}` could not be checked\n\n"
            f"The machine-readable plan `{plan_path.name}` was not written; see the run log."
        )
    try:
        return render_block(load_plan(plan_path), stack=stack, labels=parse_labels(labels))
    except DeployError as problem:  # an unreadable plan must not cost the people their comment
        return f"### ⚠️ Destructive changes · `{stack}` could not be checked\n\n{problem}."


if __name__ == "__main__":
    sys.exit(main())
