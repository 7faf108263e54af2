"""The delivery pipeline's steps, as plain Python so they run and are tested off GitHub.

The workflows in `.github/workflows/` only wire these together; every decision lives here:

    preview_gate            may this run preview against AWS? (forks, Dependabot, unwired repo)
    render_preview_comment  `pulumi preview` output -> PR comment body (summary first, size-capped)
    upsert_pr_comment       create or update that stack's comment, found by its hidden marker
    image_ref               compose and validate `<registry>/<repository>@sha256:<digest>`
    stack_state             find the migrate task definition's URN in `pulumi stack export`
    run_migration           run the migrate task once on ECS; fail on a non-zero exit
    verify_rollout          wait for ECS; fail unless the new task definition COMPLETED its rollout
    smoke                   end-to-end smoke test over HTTP (sign-up, login, item, order)
    previous_image          the image to roll back to, from `pulumi stack history --json`
    stack_outputs           read `pulumi stack output --json`

Each is `python -m scripts.deploy.<name> --help`. They exit 0 on success, 1 with an `error:` line
that says what to do next, and 2 on bad arguments.
"""
