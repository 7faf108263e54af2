"""The offline checks: the stack and bootstrap files as the program reads them, the placeholder
account ids, the secrets provider and the Pulumi CLI against the version CI pins."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import yaml

from infra.paths import REPO_ROOT
from scripts.preflight import stack_files
from scripts.preflight.stack_files import (
    PreflightError,
    check_bootstrap_settings,
    check_placeholder_account_ids,
    check_pulumi_cli,
    check_secrets_provider,
    check_stack_settings,
    find_bootstrap_file,
    read_bootstrap_file,
    read_stack_file,
)
from tests.preflight.support import bootstrap_settings, staging_config, write_stack_files


def test_stack_settings_pass_for_a_stack_the_program_accepts(tmp_path: Path):
    stack = read_stack_file("staging", write_stack_files(tmp_path))
    result = check_stack_settings(stack)
    assert result.status == "ok", result


def test_stack_settings_fail_naming_the_key_the_program_would_refuse(tmp_path: Path):
    config = staging_config(db_instance_class="db.x9.huge", availability_zone=2)
    result = check_stack_settings(
        read_stack_file("staging", write_stack_files(tmp_path, stack_config=config))
    )
    assert result.failed
    assert "shipyard:db_instance_class='db.x9.huge'" in result.detail
    assert "shipyard:availability_zone is not a known setting" in result.detail


def test_stack_settings_fail_when_the_required_secret_was_never_set(tmp_path: Path):
    config = staging_config(jwt_secret=None)
    result = check_stack_settings(
        read_stack_file("staging", write_stack_files(tmp_path, stack_config=config))
    )
    assert result.failed
    assert "shipyard:jwt_secret is not set" in result.detail
    assert "--secret jwt_secret" in result.detail


def test_a_missing_stack_file_refuses_the_run_with_how_to_create_it(tmp_path: Path):
    with pytest.raises(
        PreflightError,
        match=r"Pulumi\.qa\.yaml does not exist; create it with `pulumi stack init qa`",
    ):
        read_stack_file("qa", tmp_path)


def test_bootstrap_settings_name_the_environment_that_deploys_the_stack(tmp_path: Path):
    bootstrap = read_bootstrap_file("shipyard", write_stack_files(tmp_path))
    result = check_bootstrap_settings(bootstrap, "staging")
    assert result.status == "ok"
    assert "'staging' deploys 'staging'" in result.detail
    assert bootstrap.environment_of("prod") == "production"


def test_bootstrap_settings_fail_when_no_environment_deploys_the_stack(tmp_path: Path):
    bootstrap = read_bootstrap_file(
        "shipyard",
        write_stack_files(
            tmp_path,
            bootstrap_config=bootstrap_settings(deploy_environments={"production": "prod"}),
        ),
    )
    result = check_bootstrap_settings(bootstrap, "staging")
    assert result.failed
    assert "no GitHub environment deploys the stack 'staging'" in result.detail


def test_bootstrap_file_reads_the_subject_prefix_setting_next_to_the_validated_rest(tmp_path: Path):
    prefix = "repo:shipyard-org@111/shipyard@222"
    config = bootstrap_settings(github_sub_claim_prefix=prefix)
    bootstrap = read_bootstrap_file(
        "shipyard", write_stack_files(tmp_path, bootstrap_config=config)
    )
    assert bootstrap.sub_claim_prefix == prefix
    assert bootstrap.problems == ()
    # Control: a misspelt key of the bootstrap's namespace is still refused by its model.
    config = bootstrap_settings(github_sub_claim_prefx=prefix)
    bootstrap = read_bootstrap_file(
        "shipyard", write_stack_files(tmp_path, bootstrap_config=config)
    )
    assert any("github_sub_claim_prefx is not a known setting" in p for p in bootstrap.problems)


def test_secrets_provider_passes_with_a_kms_provider_and_its_data_key(tmp_path: Path):
    result = check_secrets_provider(read_stack_file("staging", write_stack_files(tmp_path)))
    assert result.status == "ok"
    assert "awskms://alias/shipyard-pulumi-secrets" in result.detail


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        ({"secretsprovider": None, "encryptedkey": None}, "has no `secretsprovider:`"),
        ({"secretsprovider": "passphrase", "encryptedkey": None}, "has no `secretsprovider:`"),
        ({"encryptedkey": None}, "has no `encryptedkey:`"),
        ({"secretsprovider": "vault://x"}, "is not an AWS KMS key"),
        # A key service Pulumi knows, but not one the deploy accepts (deploy/secrets_provider.py).
        (
            {"secretsprovider": "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"},
            "is not an AWS KMS key",
        ),
    ],
    ids=["absent", "passphrase", "no-data-key", "unknown-provider", "not-aws-kms"],
)
def test_secrets_provider_fails_without_a_provider_ci_can_use(tmp_path: Path, top, expected):
    stack = read_stack_file("staging", write_stack_files(tmp_path, stack_top=top))
    result = check_secrets_provider(stack)
    assert result.failed
    assert expected in result.detail
    assert "pulumi stack" in result.fix


def test_placeholder_account_ids_fail_on_the_files_as_shipped_and_name_each_key():
    stack = read_stack_file("staging", REPO_ROOT)
    bootstrap = read_bootstrap_file("shipyard", REPO_ROOT)
    result = check_placeholder_account_ids(
        {
            "Pulumi.staging.yaml": stack.document,
            "platform/bootstrap/Pulumi.shipyard.yaml": bootstrap.document,
        }
    )
    assert result.failed
    assert (
        "Pulumi.staging.yaml: shipyard:image_repository, shipyard:workload_boundary_arn"
        in result.detail
    )
    assert (
        "platform/bootstrap/Pulumi.shipyard.yaml: shipyard-bootstrap:state_bucket" in result.detail
    )


def test_placeholder_account_ids_pass_once_real_ids_are_in(tmp_path: Path):
    root = write_stack_files(tmp_path)
    stack, bootstrap = read_stack_file("staging", root), read_bootstrap_file("shipyard", root)
    result = check_placeholder_account_ids({"a": stack.document, "b": bootstrap.document})
    assert result.status == "ok", result


def test_placeholder_account_ids_are_found_inside_lists_too(tmp_path: Path):
    config = bootstrap_settings(image_pull_account_ids=["444455556666", "123456789012"])
    result = check_placeholder_account_ids({"b": {"config": config}})
    assert result.failed
    assert "shipyard-bootstrap:image_pull_account_ids" in result.detail


def test_pinned_pulumi_version_is_the_sdk_the_project_installs():
    # .github/actions/setup installs the CLI at .github/versions.env's PULUMI_VERSION, and the
    # CLI and SDK are released together (tests/delivery/test_workflow_structure.py).
    assert stack_files.pinned_pulumi_version(REPO_ROOT) == importlib.metadata.version("pulumi")


def test_pinned_pulumi_version_refuses_a_versions_file_without_it(tmp_path: Path):
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github/versions.env").write_text("PYTHON_VERSION=3.11.14\n")
    with pytest.raises(PreflightError, match="names no PULUMI_VERSION"):
        stack_files.pinned_pulumi_version(tmp_path)


@pytest.mark.parametrize(
    ("printed", "status"),
    [
        ("v3.272.0", "ok"),
        ("v3.280.1", "ok"),
        ("v3.250.0", "FAIL"),
        ("v4.0.0", "FAIL"),
        (None, "FAIL"),
    ],
    ids=["pinned", "newer", "older", "other-major", "absent"],
)
def test_pulumi_cli_is_compared_with_the_pinned_version(printed, status):
    result = check_pulumi_cli(lambda: printed, "3.272.0")
    assert result.status == status, result
    if status == "FAIL":
        assert "--version 3.272.0" in result.fix


def test_pulumi_cli_is_read_from_the_pulumi_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    fake = tmp_path / "pulumi"
    fake.write_text('#!/bin/sh\n[ "$1" = version ] && echo v3.250.0\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert stack_files.installed_pulumi_version() == "v3.250.0"
    assert check_pulumi_cli(stack_files.installed_pulumi_version, "3.272.0").failed
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert stack_files.installed_pulumi_version() is None


# --- which bootstrap stack ----------------------------------------------------------------------


def _second_account(root: Path, name: str, environments: dict[str, str]) -> None:
    config = bootstrap_settings(deploy_environments=environments, state_bucket=f"{name}-state-1")
    (root / "platform/bootstrap" / f"Pulumi.{name}.yaml").write_text(
        yaml.safe_dump({"config": config})
    )


def test_the_bootstrap_stack_is_the_one_that_deploys_the_app_stack(tmp_path: Path):
    # Staging and prod in two accounts: one bootstrap stack file per account.
    root = write_stack_files(
        tmp_path, bootstrap_config=bootstrap_settings(deploy_environments={"staging": "staging"})
    )
    _second_account(root, "shipyard-prod", {"production": "prod"})
    assert find_bootstrap_file("staging", root).stack == "shipyard"
    assert find_bootstrap_file("prod", root).stack == "shipyard-prod"


def test_the_only_bootstrap_stack_is_taken_even_if_it_deploys_another_stack(tmp_path: Path):
    root = write_stack_files(tmp_path)
    bootstrap = find_bootstrap_file("qa", root)
    assert bootstrap.stack == "shipyard"
    assert check_bootstrap_settings(bootstrap, "qa").failed


@pytest.mark.parametrize(
    ("second", "expected"),
    [({"staging": "staging"}, "several bootstrap stacks deploy 'staging'"),
     ({"production": "prod"}, "no bootstrap stack in platform/bootstrap deploys 'qa'")],
    ids=["two-deploy-it", "none-deploys-it"],
)  # fmt: skip
def test_an_ambiguous_bootstrap_stack_refuses_the_run(tmp_path: Path, second, expected):
    root = write_stack_files(tmp_path)
    _second_account(root, "shipyard-other", second)
    stack = "qa" if "qa" in expected else "staging"
    with pytest.raises(PreflightError, match=expected):
        find_bootstrap_file(stack, root)
