"""Rendering `pulumi preview` output into a PR comment: summary first, never over GitHub's limit."""

from __future__ import annotations

import pytest

from scripts.deploy.render_preview_comment import (
    DEFAULT_MAX_CHARS,
    GITHUB_COMMENT_LIMIT,
    main,
    parse_preview,
    preview_marker,
    render_comment,
    summarise_resources,
)
from tests.delivery.support import recorded

RUN_URL = "https://github.com/acme/shipyard/actions/runs/123456789"


def _render(text: str, **overrides) -> str:
    arguments = {"stack": "staging", "preview_text": text, "outcome": "success", "run_url": RUN_URL}
    return render_comment(**{**arguments, **overrides})


def test_comment_starts_with_the_stack_marker_and_puts_the_summary_before_the_diff():
    body = _render(
        recorded("preview_policy_violation.txt"), outcome="failure", commit="9f3e1c2a7b44d1"
    )

    assert body.splitlines()[0] == preview_marker("staging")
    summary = (
        "+ 1 to create · ~ 1 to update · - 1 to delete · +- 1 to replace · 4 changes · 37 unchanged"
    )
    assert f"**Resources:** {summary}" in body
    assert "commit `9f3e1c2a7b44`" in body
    assert f"[run log]({RUN_URL})" in body
    positions = [body.index(marker) for marker in ("**Resources:**", "**Policies**", "<details>")]
    assert positions == sorted(positions)
    assert "[mandatory]  sqs-queues-have-dead-letter-queues" in body
    assert body.rstrip().endswith("</details>")


def test_diff_lines_get_their_change_marker_in_column_zero_for_highlighting():
    body = _render(recorded("preview_policy_violation.txt"))
    lines = body.splitlines()

    # Same width as Pulumi's line, marker moved to column 0 ("~" and "+-" read as "changed").
    assert "+     aws:sqs/queue:Queue: (create)" in lines
    assert "-     aws:cloudwatch/logGroup:LogGroup: (delete)" in lines
    assert "!     aws:ecs/taskDefinition:TaskDefinition: (update)" in lines
    assert "!     aws:s3/bucket:Bucket: (replace)" in lines
    assert '!       bucket: "shipyard-staging-web-9f1c" => "shipyard-staging-site-9f1c"' in lines
    assert (
        "        [urn=urn:pulumi:staging::shipyard::shipyard:platform:Web"
        "$aws:s3/bucket:Bucket::web]" in lines
    )


def test_no_changes_reads_as_no_changes():
    body = _render(recorded("preview_no_changes.txt"), stack="prod")

    assert body.startswith(preview_marker("prod"))
    assert "✅ Pulumi preview · `prod` succeeded" in body
    assert "**Resources:** no changes (41 unchanged)" in body
    assert "✅ shipyard-guardrails@v0.1.0" in body


def test_a_failed_preview_shows_its_errors_at_the_top():
    body = _render(recorded("preview_error.txt"), outcome="failure")

    assert "❌ Pulumi preview · `staging` failed" in body
    errors = body.index("**Diagnostics and errors**")
    assert errors < body.index("<details>")
    assert "Missing required configuration variable 'shipyard:image_ref'" in body
    assert "error: preview failed" in body  # the CLI's own last line is kept


def test_a_huge_diff_is_truncated_with_a_note_and_the_summary_survives():
    header = recorded("preview_policy_violation.txt")
    diff_start = header.index("Policies:")
    noise = "".join(
        "    ~ aws:ssm/parameter:Parameter: (update)\n"
        f"        [urn=urn:pulumi:staging::shipyard::aws:ssm/parameter:Parameter::p{i}]\n"
        f'      ~ value: "{"x" * 60}" => "{"y" * 60}"\n'
        for i in range(3000)
    )
    text = header[:diff_start] + noise + header[diff_start:]
    assert len(text) > 3 * GITHUB_COMMENT_LIMIT

    body = _render(text, outcome="failure")

    assert len(body) <= DEFAULT_MAX_CHARS < GITHUB_COMMENT_LIMIT
    assert "(diff truncated below)" in body.split("<details>")[0]
    assert "[mandatory]  sqs-queues-have-dead-letter-queues" in body  # policies kept whole
    assert "_Diff truncated:" in body
    assert f"[run log]({RUN_URL})" in body
    shown, total = body.split("_Diff truncated: ")[1].split(" lines shown")[0].split(" of ")
    assert 0 < int(shown) < int(total) == len(parse_preview(text).diff)
    assert body.count("```") % 2 == 0  # every fence is closed


@pytest.mark.parametrize("max_chars", [2_000, 10_000, 40_000])
def test_the_body_never_exceeds_the_requested_size(max_chars):
    text = "Previewing update (staging)\n" + "\n".join(
        f"    + r{i}: (create)" for i in range(20_000)
    )
    assert len(_render(text, max_chars=max_chars)) <= max_chars


def test_a_flood_of_diagnostics_cannot_push_the_summary_out():
    text = "Diagnostics:\n" + "\n".join(f"    warning: deprecated thing {i}" for i in range(50_000))
    body = _render(text + "\nResources:\n    3 unchanged\n")

    assert len(body) <= DEFAULT_MAX_CHARS
    assert "**Resources:** no changes (3 unchanged)" in body
    assert "more lines not shown" in body


def test_backticks_in_the_output_cannot_close_the_code_block():
    text = (
        "Previewing update (staging)\n    ~ aws:ssm/parameter:Parameter: (update)\n"
        '      ~ value: "````sh" => "```"\n'
    )
    body = _render(text)

    fence = body.split("<details>")[1].splitlines()[2]
    assert fence.startswith("`````diff")  # longer than the longest backtick run inside


def test_ansi_colour_codes_are_removed():
    report = parse_preview("\x1b[1mResources:\x1b[0m\n    \x1b[32m+ 2 to create\x1b[0m\n")
    assert summarise_resources(report.resources) == "+ 2 to create"


def test_stack_output_changes_are_shown_with_the_diff():
    text = (
        "Previewing update (staging)\n    ~ aws:ecs/service:Service: (update)\n"
        'Outputs:\n  ~ image_ref: "a" => "b"\n\nResources:\n    ~ 1 to update\n    5 unchanged\n'
    )
    body = _render(text)
    assert '!   image_ref: "a" => "b"' in body.split("<details>")[1].splitlines()


def test_main_writes_the_body_and_the_job_summary(tmp_path, github_files):
    preview = tmp_path / "preview.txt"
    preview.write_text(recorded("preview_no_changes.txt"))
    output = tmp_path / "comment.md"

    code = main(
        ["--stack", "prod", "--preview-file", str(preview), "--output", str(output), "--summary"]
    )

    assert code == 0
    assert output.read_text().startswith(preview_marker("prod"))
    assert "no changes (41 unchanged)" in github_files()["summary"]


def test_main_explains_a_preview_that_never_ran(tmp_path):
    output = tmp_path / "comment.md"

    code = main(
        [
            "--stack",
            "staging",
            "--preview-file",
            str(tmp_path / "missing.txt"),
            "--outcome",
            "skipped",
            "--output",
            str(output),
        ]
    )

    body = output.read_text()
    assert code == 0
    assert "did not run (an earlier step failed" in body
    assert "was not written" in body
