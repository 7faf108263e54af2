"""CI stops before Pulumi when a stack file lacks its secrets provider, naming the guide step."""

from __future__ import annotations

import pytest

from scripts.deploy import secrets_provider
from scripts.deploy.errors import DeployError
from scripts.deploy.secrets_provider import GUIDE, GUIDE_STEP, check
from tests.delivery.support import REPO_ROOT

WRITTEN_BY_STACK_INIT = """\
secretsprovider: awskms://alias/shipyard-pulumi-secrets-prod?region=us-east-1
encryptedkey: AQICAHh0c2VjcmV0LWtleS1jaXBoZXJ0ZXh0LWZvci10ZXN0cw==
config:
  aws:region: us-east-1
"""


def _stack_file(tmp_path, text):
    (tmp_path / "Pulumi.prod.yaml").write_text(text)
    return tmp_path


def test_a_stack_file_with_provider_and_key_passes(tmp_path):
    assert "awskms://alias/shipyard-pulumi-secrets-prod" in check(
        "prod", _stack_file(tmp_path, WRITTEN_BY_STACK_INIT)
    )


@pytest.mark.parametrize(
    ("drop", "named"),
    [("secretsprovider", "`secretsprovider:`"), ("encryptedkey", "`encryptedkey:`")],
)
def test_a_missing_line_is_named_with_the_guide_step_that_writes_it(tmp_path, drop, named):
    text = "\n".join(
        line for line in WRITTEN_BY_STACK_INIT.splitlines() if not line.startswith(drop)
    )
    with pytest.raises(DeployError) as refused:
        check("prod", _stack_file(tmp_path, text))
    message = str(refused.value)
    assert named in message
    assert GUIDE in message
    assert "3. Create the app stacks" in message
    assert "--secrets-provider" in message


def test_a_passphrase_provider_is_refused(tmp_path):
    text = WRITTEN_BY_STACK_INIT.replace(
        "awskms://alias/shipyard-pulumi-secrets-prod?region=us-east-1", "passphrase"
    )
    with pytest.raises(DeployError, match="AWS KMS key"):
        check("prod", _stack_file(tmp_path, text))


def test_the_guide_step_named_exists_and_writes_the_provider():
    guide = (REPO_ROOT / GUIDE).read_text()
    assert GUIDE_STEP in guide.splitlines()
    section = guide.split(GUIDE_STEP, 1)[1].split("\n## ", 1)[0]
    assert "--secrets-provider" in section


def test_the_command_fails_in_one_line_for_a_missing_file(tmp_path, capsys):
    assert secrets_provider.main(["--stack", "prod", "--directory", str(tmp_path)]) == 1
    assert "::error::Pulumi.prod.yaml does not exist" in capsys.readouterr().out


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_stack_files_hold_settings_only_since_pulumi_rewrites_them(stack):
    # `pulumi stack init --secrets-provider` and `pulumi config set` rewrite the whole file and
    # drop its comments (pulumi/pulumi#423): the reasons live in docs/delivery.md, "Stack files".
    text = (REPO_ROOT / f"Pulumi.{stack}.yaml").read_text()
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert comments == []
    assert "## Stack files" in (REPO_ROOT / "docs" / "delivery.md").read_text()
