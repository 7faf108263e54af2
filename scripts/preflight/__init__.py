"""`python -m scripts.preflight --stack S`: the live facts the first deploy depends on, checked
read-only before Pulumi runs (docs/getting-started-on-aws.md; the deploy job runs `--only aws`).

One module per group of checks: `stack_files` (offline: the stack and bootstrap files, the Pulumi
CLI), `aws_checks` (boto3's default credential chain) and `github_checks` (a GitHub token). Every
check is a function over its inputs and clients that returns one `Result` (result.py), so each is
tested on recorded answers; `__main__` only gathers the inputs, runs the checks and prints them.
"""
