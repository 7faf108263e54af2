"""python -m scripts.preflight --stack S [--only aws|github] [--bootstrap-stack B]

Checks, read-only, the live facts the first deploy of stack S depends on and prints one line per
check (ok / FAIL / skip) with the fix under each failure; exits 1 if any check failed, 2 if the
run could not start (no credentials, no stack file). The stack and bootstrap files are always
checked; the Pulumi CLI when both halves run; `--only aws` (what the deploy job runs, before
Pulumi) and `--only github` pick one live half.

AWS: boto3's default credential chain (AWS_PROFILE, environment variables, SSO, a role).
GitHub: a token in GITHUB_TOKEN or GH_TOKEN (`GITHUB_TOKEN=$(gh auth token)`), sent to
GITHUB_API_URL (default https://api.github.com).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx

from infra.paths import REPO_ROOT
from scripts.deploy.github_actions import annotate, append_summary
from scripts.preflight import aws_checks, github_checks, stack_files
from scripts.preflight.result import Result, fail, render, skip, summary
from scripts.preflight.stack_files import BootstrapFile, PreflightError, StackFile

T = TypeVar("T")
EXIT_FAILED = 1
EXIT_CANNOT_RUN = 2
MISSING_AWS_SIGN_IN = (
    "no AWS credentials were found (boto3 looks at AWS_PROFILE, AWS_ACCESS_KEY_ID/"
    "AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, SSO and instance roles): sign in, e.g. "
    "`aws sso login --profile NAME && export AWS_PROFILE=NAME`, or run `--only github`"
)
MISSING_GITHUB_SIGN_IN = (
    "no GitHub token was found in GITHUB_TOKEN or GH_TOKEN: export one, e.g. "
    "`export GITHUB_TOKEN=$(gh auth token)`, or run `--only aws`"
)


def _guarded(check: str, run: Callable[[], T]) -> T | Result:
    """A check that could not ask its question fails with the answer it got, never a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return run()
    except ClientError as error:
        code = aws_checks.error_code(error)
        operation = error.operation_name
        if code in aws_checks.ACCESS_DENIED:
            return fail(
                check,
                f"these credentials may not call {operation} ({code})",
                "run it with credentials that may read the account (ReadOnlyAccess covers every "
                "check)",
            )
        return fail(check, f"{operation} answered {code}: {error}", "try again; see the message")
    except BotoCoreError as error:
        return fail(check, f"AWS could not be asked: {error}", "check the network and try again")
    except github_checks.GitHubError as answer:
        return fail(
            check,
            str(answer),
            "use a token that may read the repository's administration settings "
            "(GITHUB_TOKEN=$(gh auth token))",
        )
    except httpx.HTTPError as error:
        return fail(
            check, f"GitHub could not be asked: {error}", "check GITHUB_API_URL and the network"
        )


# --- the halves ---------------------------------------------------------------------------------


def file_results(stack: StackFile, bootstrap: BootstrapFile) -> Iterator[Result]:
    yield stack_files.check_stack_settings(stack)
    yield stack_files.check_bootstrap_settings(bootstrap, stack.stack)
    yield stack_files.check_secrets_provider(stack)
    yield stack_files.check_placeholder_account_ids(
        {
            stack.path.name: stack.document,
            str(stack_files.BOOTSTRAP_DIR / bootstrap.path.name): bootstrap.document,
        }
    )


def aws_session() -> Any:
    import boto3

    return boto3.Session()


def aws_account(session: Any, region: str) -> str:
    """The account of the credentials, or PreflightError with the sentence that says why not."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        identity = session.client("sts", region_name=region).get_caller_identity()
    except NoCredentialsError:
        raise PreflightError(MISSING_AWS_SIGN_IN) from None
    except ClientError as error:
        raise PreflightError(
            f"AWS refused the credentials ({aws_checks.error_code(error)}): they are expired or "
            "wrong; sign in again, e.g. `aws sso login --profile NAME`"
        ) from None
    except BotoCoreError as error:
        raise PreflightError(f"AWS could not be asked who the credentials are ({error})") from None
    return str(identity["Account"])


def aws_results(
    session: Any, account: str, stack: StackFile, bootstrap: BootstrapFile
) -> Iterator[Result]:
    settings = stack.settings
    if settings is None:
        yield skip("AWS checks", "the stack settings have problems (above): fix them first")
        return
    region = settings.region

    def client(service: str, in_region: str = region) -> Any:
        return session.client(service, region_name=in_region)

    yield aws_checks.check_account(account, settings)
    listing = aws_checks.region_for_listing(region)
    region_result = _guarded(
        f"region {region}", lambda: aws_checks.check_region(client("ec2", listing), region)
    )
    yield region_result
    if region_result.failed:
        yield skip("regional checks", f"{region} cannot be used (above)")
    else:
        checks: list[tuple[str, Callable[[], Result]]] = [
            ("availability zones", lambda: aws_checks.check_zones(client("ec2"), settings)),
            (
                "Lambda concurrency",
                lambda: aws_checks.check_lambda_concurrency(client("lambda"), settings),
            ),
            ("hosted zone", lambda: aws_checks.check_hosted_zone(client("route53"), settings)),
            (
                "certificates",
                lambda: aws_checks.check_certificate_issuance(client("route53"), settings),
            ),
            ("RDS instance class", lambda: aws_checks.check_rds_class(client("rds"), settings)),
        ]
        for name, run in checks:
            yield _guarded(name, run)
    provider = str(stack.document.get("secretsprovider") or "")
    key = aws_checks.kms_key_of(provider, region)
    if key is None or not stack.document.get("encryptedkey"):
        yield skip("secrets key", "the stack names no AWS KMS key with its data key (above)")
    else:
        key_id, key_region = key
        yield _guarded(
            "secrets key",
            lambda: aws_checks.check_secrets_key(client("kms", key_region), stack, key_id),
        )
    environment = bootstrap.environment_of(stack.stack)
    if bootstrap.settings is None or environment is None:
        yield skip("deploy role", "the bootstrap settings have problems (above)")
        return
    prefix = bootstrap.settings.github_sub_claim_prefix
    yield _guarded(
        "deploy role",
        lambda: aws_checks.check_deploy_role_trust(client("iam"), bootstrap, environment, prefix),
    )


def github_results(token: str, stack: StackFile, bootstrap: BootstrapFile) -> Iterator[Result]:
    if bootstrap.settings is None:
        yield skip("GitHub checks", "the bootstrap settings have problems (above)")
        return
    repository_name = bootstrap.settings.github_repository
    branch = bootstrap.settings.main_branch
    with github_checks.client(token) as github:
        found = _guarded(
            "GitHub repository", lambda: github_checks.check_repository(github, repository_name)
        )
        if isinstance(found, Result):
            yield found
            yield skip("GitHub checks", "the repository cannot be read (above)")
            return
        repo = found
        yield Result("GitHub repository", "ok", f"{repo.full_name}: {repo.kind}")
        yield github_checks.check_subject_prefix(repo, bootstrap)
        yield github_checks.check_plan(repo)
        environment = bootstrap.environment_of(stack.stack)
        if environment is not None:
            yield _guarded(
                f"environment {environment}",
                lambda: github_checks.check_environment(github, repo, environment, branch),
            )
        yield _guarded(
            f"rules on {branch}", lambda: github_checks.check_branch_rules(github, repo, branch)
        )


# --- the run ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.preflight",
        description=(__doc__ or "").split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", required=True, help="the app stack: Pulumi.<stack>.yaml")
    parser.add_argument(
        "--only", choices=("aws", "github"), help="run one live half (the files are always checked)"
    )
    parser.add_argument(
        "--bootstrap-stack",
        help="the bootstrap's stack, platform/bootstrap/Pulumi.<name>.yaml (default: the one whose "
        "deploy_environments names the stack)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, root: Path = REPO_ROOT) -> int:
    args = parse_args(argv)
    wants_aws, wants_github = args.only in (None, "aws"), args.only in (None, "github")
    try:
        stack = stack_files.read_stack_file(args.stack, root)
        bootstrap = (
            stack_files.read_bootstrap_file(args.bootstrap_stack, root)
            if args.bootstrap_stack
            else stack_files.find_bootstrap_file(args.stack, root)
        )
    except PreflightError as refusal:
        print(f"preflight: {refusal}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    # Each half that was asked for needs its credentials; say everything that is missing at once.
    refusals: list[str] = []
    token = github_checks.token_from_environment() if wants_github else None
    if wants_github and token is None:
        refusals.append(MISSING_GITHUB_SIGN_IN)
    session, account = None, ""
    if wants_aws:
        region = (
            stack.settings.region if stack.settings else aws_checks.ALWAYS_ENABLED_REGION["aws"]
        )
        session = aws_session()
        try:
            account = aws_account(session, region)
        except PreflightError as refusal:
            refusals.append(str(refusal))
    if refusals:
        for sentence in refusals:
            print(f"preflight: cannot run: {sentence}.", file=sys.stderr)
        return EXIT_CANNOT_RUN

    print(f"preflight of stack {args.stack} (bootstrap stack {bootstrap.stack}), read-only")
    results: list[Result] = []

    on_runner = os.environ.get("GITHUB_ACTIONS") == "true"

    def show(result: Result) -> None:
        results.append(result)
        print(render(result), flush=True)
        if on_runner and result.failed:  # shown on the run's page, not only in the log
            annotate(
                "error", f"{result.detail} Fix: {result.fix}", title=f"preflight: {result.check}"
            )

    for result in file_results(stack, bootstrap):
        show(result)
    if args.only is None:
        show(
            stack_files.check_pulumi_cli(
                stack_files.installed_pulumi_version, stack_files.pinned_pulumi_version(root)
            )
        )
    if wants_aws:
        for result in aws_results(session, account, stack, bootstrap):
            show(result)
    if wants_github and token is not None:
        for result in github_results(token, stack, bootstrap):
            show(result)
    print(summary(results))
    if on_runner:
        append_summary(f"**preflight of {args.stack}**: {summary(results)}")
    return EXIT_FAILED if any(result.failed for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
