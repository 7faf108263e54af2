"""The workflow walk leaves out a job whose `if` requires another event (pull-request.yml runs
`preview` for pull requests and `queue-preview` in the merge queue, with different roles)."""

from __future__ import annotations

from scripts.trust.github_oidc import Event, _runs_for, assumptions
from tests.delivery.support import WORKFLOWS

PULL = Event("pull_request", "refs/pull/42/merge")
QUEUE = Event("merge_group", "refs/heads/gh-readonly-queue/main/pr-42-abc")


def test_a_job_for_another_event_is_left_out():
    job = {"if": "github.event_name == 'merge_group' && needs.gate.outputs.run == 'true'"}
    assert _runs_for(job, QUEUE)
    assert not _runs_for(job, PULL)


def test_conditions_the_walk_cannot_narrow_count_as_running():
    assert _runs_for({}, PULL)
    assert _runs_for({"if": "needs.gate.outputs.run == 'true'"}, PULL)
    either = {"if": "github.event_name == 'merge_group' || github.event_name == 'push'"}
    assert _runs_for(either, PULL)  # `||`: not narrowed, so the job is still checked


def test_pull_requests_reach_only_staging_and_the_queue_every_stack():
    jobs = {
        (a.event.name, a.job)
        for a in assumptions(WORKFLOWS)
        if a.event.name in ("pull_request", "merge_group")
    }
    pull = {job for event, job in jobs if event == "pull_request"}
    queue = {job for event, job in jobs if event == "merge_group"}
    assert pull == {"preview (staging) / preview staging"}
    assert queue == {
        "merge queue preview (staging) / preview staging",
        "merge queue preview (prod) / preview prod",
    }
