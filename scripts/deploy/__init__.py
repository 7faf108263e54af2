"""The delivery pipeline's steps, as plain Python so they run and are tested off GitHub.

The workflows in `.github/workflows/` only wire these together; every decision lives here:

    preview_gate            may this run preview against AWS? (forks, Dependabot, unwired repo)
    render_preview_comment  `pulumi preview` output -> PR comment body (summary first, size-capped)
    cost_comment            the comment's monthly cost before and after (scripts/cost estimates)
    upsert_pr_comment       create or update that stack's comment, found by its hidden marker
    image_ref               compose and validate `<registry>/<repository>@sha256:<digest>`
    summarise_previews      the `previews` check: previews passed, or the gate skipped them all
    existing_image          this commit's image digest if it was pushed already (re-runs)
    secrets_provider        the stack file names its KMS secrets provider (before any pulumi)
    state_identity          which state a plan was made from; refuse it once the state moved on
    plan_manifest           what the reviewers approved; refuse to apply anything else
    plan_json               a preview as data: steps, types, URNs, property names, no values
    pull_group              every pull request a deploy or a merge group contains
    destructive_gate        refuse a replace/delete of stateful resources without the label
    run_migration           run the declared tasks (kind: task) once on ECS, in order, new image
    verify_rollout          wait for ECS; fail unless every web and worker service COMPLETED
    smoke                   smoke test over HTTP: full (sign-up ... order) or read-only (prod)
    previous_image          the image to roll back to, from `pulumi stack history --json`
    stack_outputs           read `pulumi stack output --json`

Each is `python -m scripts.deploy.<name> --help`. They exit 0 on success, 1 with an `error:` line
that says what to do next, and 2 on bad arguments.
"""
