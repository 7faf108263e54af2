"""`python -m scripts.preflight` as a whole: it refuses cleanly without credentials (a sentence,
no traceback, as a real process), runs every check with recorded answers, prints one line per
check with the fix under each failure, and its exit status says whether anything failed."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.paths import REPO_ROOT
from scripts.preflight import __main__ as preflight
from scripts.preflight import stack_files
from tests.preflight.support import (
    ACCOUNT,
    REGION,
    GitHubStandIn,
    staging_config,
    write_stack_files,
)
from tests.preflight.test_aws_checks import (
    RDS_QUERY,
    US_EAST_1_ZONES,
    ZONE_FILTER,
    _account_settings,
    _get_role,
    _key,
    _orderable,
    _regions,
)
from tests.preflight.test_github_checks import (
    CUSTOM_MAIN,
    LEGACY,
    _environment,
    _rules,
    _serve_repository,
    _subject,
)
from tests.utils.aws_stubs import StubbedClients

ALIAS = "alias/shipyard-pulumi-secrets"
IDENTITY = {
    "UserId": "AROAEXAMPLEEXAMPLE123:me",
    "Account": ACCOUNT,
    "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/me",
}


def _without_credentials(tmp_path: Path) -> dict[str, str]:
    """This machine's environment with every source of AWS and GitHub credentials removed."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "GITHUB_", "GH_")) and key != "HOME"
    }
    env.update(
        HOME=str(tmp_path),  # no ~/.aws
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",  # no instance role to ask for
    )
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.preflight", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_without_aws_credentials_the_aws_half_refuses_with_one_sentence(tmp_path: Path):
    done = _run(["--stack", "staging", "--only", "aws"], _without_credentials(tmp_path))
    assert done.returncode == preflight.EXIT_CANNOT_RUN
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("preflight: cannot run: no AWS credentials were found")
    assert "AWS_PROFILE" in lines[0]


def test_without_a_github_token_the_github_half_refuses_with_one_sentence(tmp_path: Path):
    done = _run(["--stack", "staging", "--only", "github"], _without_credentials(tmp_path))
    assert done.returncode == preflight.EXIT_CANNOT_RUN
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.strip() == f"preflight: cannot run: {preflight.MISSING_GITHUB_SIGN_IN}."


def test_without_any_credentials_both_missing_halves_are_named(tmp_path: Path):
    done = _run(["--stack", "staging"], _without_credentials(tmp_path))
    assert done.returncode == preflight.EXIT_CANNOT_RUN
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 2
    assert "GITHUB_TOKEN" in done.stderr
    assert "AWS_PROFILE" in done.stderr


def test_an_unknown_stack_refuses_with_how_to_create_it(tmp_path: Path):
    done = _run(["--stack", "qa", "--only", "aws"], _without_credentials(tmp_path))
    assert done.returncode == preflight.EXIT_CANNOT_RUN
    assert "Pulumi.qa.yaml does not exist; create it with `pulumi stack init qa`" in done.stderr
    assert "Traceback" not in done.stderr


# --- whole runs on recorded answers -------------------------------------------------------------


def _record_a_ready_account(
    session: StubbedClients, root: Path, trust: dict[str, Any], *, quota: int = 1000
) -> None:
    session.stub("sts").add_response(
        "get_caller_identity",
        {
            "UserId": "AROAEXAMPLE:me",
            "Account": ACCOUNT,
            "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/me",
        },
        {},
    )
    session.stub("ec2").add_response(
        "describe_regions", _regions((REGION, "opt-in-not-required")), {"AllRegions": True}
    )
    session.stub("ec2").add_response(
        "describe_availability_zones", {"AvailabilityZones": US_EAST_1_ZONES}, ZONE_FILTER
    )
    session.stub("lambda").add_response("get_account_settings", _account_settings(quota, quota), {})
    session.stub("lambda").add_client_error(
        "get_function_concurrency", "ResourceNotFoundException", http_status_code=404,
        expected_params={"FunctionName": "shipyard-staging-order-alerts"},
    )  # fmt: skip
    session.stub("rds").add_response(
        "describe_orderable_db_instance_options", _orderable("16.4"), RDS_QUERY
    )
    encrypted = (
        (root / "Pulumi.staging.yaml").read_text().split("encryptedkey: ", 1)[1].split("\n", 1)[0]
    )
    session.stub("kms").add_response("describe_key", _key(), {"KeyId": ALIAS})
    session.stub("kms").add_response(
        "decrypt", {"KeyId": _key()["KeyMetadata"]["Arn"], "Plaintext": b"\x00" * 32},
        {"CiphertextBlob": base64.b64decode(encrypted), "KeyId": ALIAS},
    )  # fmt: skip
    _get_role(
        session.stub("iam"), "shipyard-ci-deploy-staging", trust["shipyard-ci-deploy-staging"]
    )


def _record_a_ready_repository(github: GitHubStandIn) -> None:
    _serve_repository(github, private=False, plan="team")
    _subject(github, {"use_default": True, "sub_claim_prefix": LEGACY})
    _environment(
        github, "staging", policy=CUSTOM_MAIN, branches=[{"name": "main", "type": "branch"}]
    )
    _rules(github, "pull_request", "required_status_checks", "merge_queue")


def test_a_ready_stack_passes_every_check_and_exits_0(
    tmp_path, monkeypatch, capsys, github, declared_trust
):
    root = write_stack_files(tmp_path, stack_config=staging_config(alerts_reserved_concurrency=5))
    session = StubbedClients(REGION)
    _record_a_ready_account(session, root, declared_trust)
    _record_a_ready_repository(github)
    monkeypatch.setattr(preflight, "aws_session", lambda: session)
    monkeypatch.setattr(stack_files, "installed_pulumi_version", lambda: "v3.272.0")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_recorded")

    status = preflight.main(["--stack", "staging"], root=root)

    out = capsys.readouterr().out
    session.assert_all_asked()
    assert status == 0, out
    lines = [line for line in out.splitlines() if line[:4] in ("ok  ", "FAIL", "skip")]
    assert [line[6:].split(": ", 1)[0] for line in lines] == [
        "stack settings (Pulumi.staging.yaml)", "bootstrap settings (Pulumi.shipyard.yaml)",
        "secrets provider", "account ids", "Pulumi CLI", "AWS account", "region us-east-1",
        "availability zones", "Lambda concurrency", "hosted zone", "certificates",
        "RDS instance class", "secrets key", "deploy role shipyard-ci-deploy-staging",
        "GitHub repository", "OIDC subject", "repository plan", "environment staging",
        "rules on main",
    ]  # fmt: skip
    assert not any(line.startswith("FAIL") for line in lines)
    assert out.rstrip().endswith("0 failed, 2 skipped: ready to deploy")


def test_a_failing_check_prints_its_fix_and_exits_1(
    tmp_path, monkeypatch, capsys, github, declared_trust
):
    root = write_stack_files(tmp_path, stack_config=staging_config(alerts_reserved_concurrency=5))
    session = StubbedClients(REGION)
    _record_a_ready_account(session, root, declared_trust, quota=10)  # a new account
    monkeypatch.setattr(preflight, "aws_session", lambda: session)

    status = preflight.main(["--stack", "staging", "--only", "aws"], root=root)

    out = capsys.readouterr().out
    session.assert_all_asked()
    assert status == preflight.EXIT_FAILED
    failure = out.split("FAIL  Lambda concurrency: ", 1)[1].splitlines()
    assert (
        failure[1]
        .strip()
        .startswith("fix: request a 'Concurrent executions' quota of at least 105")
    )
    assert "Pulumi CLI" not in out  # --only aws: what the deploy job runs before Pulumi
    assert "GitHub repository" not in out
    assert out.rstrip().endswith("1 failed, 2 skipped: not ready to deploy")


def test_a_check_that_aws_denies_fails_with_the_permission_it_needs(tmp_path, monkeypatch, capsys):
    root = write_stack_files(tmp_path)
    session = StubbedClients(REGION)
    session.stub("sts").add_response("get_caller_identity", IDENTITY, {})
    session.stub("ec2").add_response(
        "describe_regions", _regions((REGION, "opt-in-not-required")), {"AllRegions": True}
    )
    session.stub("ec2").add_client_error(
        "describe_availability_zones", "UnauthorizedOperation", http_status_code=403
    )
    session.stub("rds").add_response(
        "describe_orderable_db_instance_options", _orderable("16.4"), RDS_QUERY
    )
    session.stub("kms").add_client_error(
        "describe_key", "AccessDeniedException", http_status_code=400
    )
    session.stub("iam").add_client_error("get_role", "AccessDenied", http_status_code=403)
    monkeypatch.setattr(preflight, "aws_session", lambda: session)

    status = preflight.main(["--stack", "staging", "--only", "aws"], root=root)

    out = capsys.readouterr().out
    assert status == preflight.EXIT_FAILED
    assert (
        "FAIL  availability zones: these credentials may not call DescribeAvailabilityZones" in out
    )
    assert "FAIL  secrets key: these credentials may not call DescribeKey" in out
    assert "skip  deploy role shipyard-ci-deploy-staging: these credentials may not read it" in out
    assert "Traceback" not in out


def test_expired_aws_credentials_refuse_the_run_with_one_sentence(tmp_path, monkeypatch, capsys):
    root = write_stack_files(tmp_path)
    session = StubbedClients(REGION)
    session.stub("sts").add_client_error(
        "get_caller_identity", "ExpiredToken", http_status_code=403
    )
    monkeypatch.setattr(preflight, "aws_session", lambda: session)

    status = preflight.main(["--stack", "staging", "--only", "aws"], root=root)

    captured = capsys.readouterr()
    assert status == preflight.EXIT_CANNOT_RUN
    assert captured.out == ""
    assert captured.err.strip() == (
        "preflight: cannot run: AWS refused the credentials (ExpiredToken): they are expired or "
        "wrong; sign in again, e.g. `aws sso login --profile NAME`."
    )


def test_stack_settings_with_problems_skip_the_aws_checks_that_need_them(
    tmp_path, monkeypatch, capsys
):
    root = write_stack_files(tmp_path, stack_config=staging_config(vpc_cidr="8.8.0.0/16"))
    session = StubbedClients(REGION)
    session.stub("sts").add_response("get_caller_identity", IDENTITY, {})
    monkeypatch.setattr(preflight, "aws_session", lambda: session)

    status = preflight.main(["--stack", "staging", "--only", "aws"], root=root)

    out = capsys.readouterr().out
    session.assert_all_asked()
    assert status == preflight.EXIT_FAILED
    assert "shipyard:vpc_cidr='8.8.0.0/16' is not a private" in out
    assert "skip  AWS checks: the stack settings have problems (above)" in out


def test_on_a_runner_each_failure_is_an_annotation_and_the_verdict_goes_to_the_summary(
    tmp_path, monkeypatch, capsys, declared_trust
):
    root = write_stack_files(tmp_path, stack_config=staging_config(alerts_reserved_concurrency=5))
    session = StubbedClients(REGION)
    _record_a_ready_account(session, root, declared_trust, quota=10)
    monkeypatch.setattr(preflight, "aws_session", lambda: session)
    summary = tmp_path / "step_summary"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    status = preflight.main(["--stack", "staging", "--only", "aws"], root=root)

    out = capsys.readouterr().out
    assert status == preflight.EXIT_FAILED
    (annotation,) = [line for line in out.splitlines() if line.startswith("::error")]
    assert annotation.startswith("::error title=preflight%3A Lambda concurrency::")
    assert "Fix: request a 'Concurrent executions' quota" in annotation
    assert summary.read_text() == (
        "**preflight of staging**: 10 ok, 1 failed, 2 skipped: not ready to deploy\n"
    )
