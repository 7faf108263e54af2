"""Helpers of the preflight tests: stack files as a repository root would hold them, and the
stand-in GitHub's recorded answers (conftest.py has the fixtures that use them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.config import StackConfig, parse_stack_file_without_secrets
from infra.paths import REPO_ROOT
from tests.preflight import github_description

ACCOUNT = "111122223333"
REGION = "us-east-1"


def staging_config(**overrides: Any) -> dict[str, Any]:
    """The repository's Pulumi.staging.yaml `config:` with this test account's ids, plus
    `overrides` (`shipyard:` keys without the prefix; None removes one)."""
    text = (REPO_ROOT / "Pulumi.staging.yaml").read_text().replace("123456789012", ACCOUNT)
    config: dict[str, Any] = yaml.safe_load(text)["config"]
    config["shipyard:jwt_secret"] = {"secure": "AAABAKa6recorded-ciphertext"}
    return _overridden(config, "shipyard", overrides)


def settings(**overrides: Any) -> StackConfig:
    return parse_stack_file_without_secrets(staging_config(**overrides), "staging")


@dataclass
class GitHubStandIn:
    """Answers `routes[path]` = (status, JSON body); anything else 404, as GitHub does."""

    url: str
    routes: dict[str, tuple[int, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Mapping[str, str]]] = field(default_factory=list)

    def answer(self, path: str, body: Any, status: int = 200) -> None:
        """Record GET `path`'s answer; a 200 body must fit GitHub's description of it."""
        if status == 200:
            wrong = github_description.problems(path, body)
            assert not wrong, f"recorded answer of GET {path}: " + "; ".join(wrong)
        self.routes[path] = (status, body)


def write_stack_files(
    root: Path,
    *,
    stack_config: Mapping[str, Any] | None = None,
    stack_top: Mapping[str, Any] | None = None,
    bootstrap_config: Mapping[str, Any] | None = None,
    pulumi_version: str = "3.272.0",
) -> Path:
    """A repository root holding Pulumi.staging.yaml, the bootstrap's Pulumi.shipyard.yaml and
    .github/versions.env: by default a stack ready to deploy."""
    top = {
        "secretsprovider": f"awskms://alias/shipyard-pulumi-secrets?region={REGION}",
        "encryptedkey": "AQICAHhyZWNvcmRlZC1kYXRhLWtleQ==",
        **(stack_top or {}),
    }
    top = {key: value for key, value in top.items() if value is not None}
    document = {**top, "config": dict(stack_config or staging_config())}
    (root / "Pulumi.staging.yaml").write_text(yaml.safe_dump(document))
    (root / "platform/bootstrap").mkdir(parents=True, exist_ok=True)
    (root / "platform/bootstrap/Pulumi.shipyard.yaml").write_text(
        yaml.safe_dump({"config": dict(bootstrap_config or bootstrap_settings())})
    )
    (root / ".github").mkdir(exist_ok=True)
    (root / ".github/versions.env").write_text(f"PULUMI_VERSION={pulumi_version}\n")
    return root


def bootstrap_settings(**overrides: Any) -> dict[str, Any]:
    """The repository's platform/bootstrap/Pulumi.shipyard.yaml with this test account's ids."""
    text = (REPO_ROOT / "platform/bootstrap/Pulumi.shipyard.yaml").read_text()
    config: dict[str, Any] = yaml.safe_load(text.replace("123456789012", ACCOUNT))["config"]
    return _overridden(config, "shipyard-bootstrap", overrides)


def _overridden(
    config: dict[str, Any], project: str, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """`config` with `overrides` applied: a key without a `project:` prefix gets this one; a
    None value removes the key."""
    for key, value in overrides.items():
        name = key if ":" in key else f"{project}:{key}"
        if value is None:
            config.pop(name, None)
        else:
            config[name] = value
    return config
