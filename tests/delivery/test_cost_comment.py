"""The pull-request comment's cost section, rendered from a recorded pair of estimates.

tests/delivery/data/costs/ holds `python -m tools.plan prod --cost-json` of prod as it is
(prod-base.json) and with `api_min_tasks: 4` and `db_instance_class: db.m7g.xlarge`
(prod-head.json), as the pull-request job writes them for the base and the head commit.
"""

from __future__ import annotations

from decimal import Decimal

from scripts.deploy.cost_comment import render_cost_block
from scripts.deploy.render_preview_comment import main
from tests.delivery.support import DATA

COSTS = DATA / "costs"
BASE, HEAD = COSTS / "prod-base.json", COSTS / "prod-head.json"


def test_the_comment_shows_totals_before_and_after_and_the_changed_lines(tmp_path):
    output = tmp_path / "comment.md"
    assert (
        main([
            "--stack", "prod", "--preview-file", str(DATA / "preview_no_changes.txt"),
            "--output", str(output), "--cost-base", str(BASE), "--cost-head", str(HEAD),
        ])
        == 0
    )  # fmt: skip
    body = output.read_text()

    # The committed prices hold only what AWS's records were found for (Fargate, public IPv4, EBS
    # gp3, t3.medium: scripts/cost/recorded_offers/SOURCES.md): the headline says how much it
    # leaves out, and the database change is flagged, not priced.
    assert (
        "### 💰 Monthly cost · `prod`: $155.86 → $191.90 (+$36.04/month) · 39 resource(s) not "
        "priced"
    ) in body
    task = (
        "+$36.04/month: services-api Fargate tasks (on-demand): "
        "3 × 1 vCPU, 2 GB × 730 h → 4 × 1 vCPU, 2 GB × 730 h"
    )
    assert task in body.splitlines()
    database = "⚠️ Not priced now: `database-postgres` (aws:rds/instance:Instance): not priced"
    assert database in body
    assert "rds_postgresql:Multi-AZ:db.m7g.xlarge" in body  # which price is missing
    assert body.index(task) < body.index(database)  # priced changes first, then the gaps
    # after the verdict and summary, before the diff
    assert body.index("**Resources:**") < body.index("💰") < body.index("<details>")
    # 1 vCPU and 2 GB more for 730 h at the recorded Fargate prices
    one_task = Decimal(730) * (Decimal("0.04048") + 2 * Decimal("0.004445"))
    assert one_task.quantize(Decimal("0.01")) == Decimal("36.04")


def test_the_cost_section_follows_the_destructive_change_block(tmp_path):
    output = tmp_path / "comment.md"
    plans = DATA / "plans"
    plan = plans / "prod-replace-database.json"
    assert (
        main([
            "--stack", "prod", "--preview-file", str(DATA / "preview_no_changes.txt"),
            "--output", str(output), "--plan", str(plan),
            "--cost-base", str(BASE), "--cost-head", str(HEAD),
        ])
        == 0
    )  # fmt: skip
    body = output.read_text()
    assert body.index("Destructive changes") < body.index("💰 Monthly cost")


def test_without_a_base_estimate_the_head_total_is_shown_and_why_there_is_no_change():
    block = render_cost_block("prod", COSTS / "missing.json", HEAD)

    assert block.startswith("### 💰 Monthly cost · `prod`: $191.90 a month · 39 resource(s)")
    assert "Nothing to compare with" in block
    assert "missing.json does not exist" in block


def test_an_unchanged_estimate_says_unchanged():
    assert "$155.86 a month, unchanged" in render_cost_block("prod", BASE, BASE)


def test_no_estimate_files_leave_the_comment_as_it_was():
    assert render_cost_block("prod", None, None) == ""


def test_an_unreadable_estimate_is_reported_in_the_section(tmp_path):
    broken = tmp_path / "head.json"
    broken.write_text('{"stack": "prod"}')

    block = render_cost_block("prod", BASE, broken)
    assert "could not be estimated" in block
    assert "is not a cost estimate" in block
