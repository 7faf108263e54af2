"""A stack's configuration read from its `Pulumi.<stack>.yaml`, as the engine passes it.

The engine hands a program every value as a string (objects and lists as JSON); reading the file
the same way means the offline run sees what `pulumi up` would. Values set with
`pulumi config set --secret` are encrypted with the stack's secrets provider and cannot be read
here: they are skipped, and the app stack's required ones get the stand-ins of OFFLINE_SECRETS.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from infra.config import PROJECT
from infra.config_model import stack_file_values
from tools.paths import REPO_ROOT

# The app stack's keys the engine treats as secrets (set_all_config is told which ones).
SECRET_KEYS = (
    f"{PROJECT}:jwt_secret",
    f"{PROJECT}:origin_verify_secret",
    f"{PROJECT}:dockerhub_username",
    f"{PROJECT}:dockerhub_token",
)
# Stand-ins for `pulumi config set --secret` values, which live encrypted outside the repo.
OFFLINE_SECRETS = {
    f"{PROJECT}:jwt_secret": "offline-plan-jwt-secret-0123456789abcdefghijklmnop",
}


def stack_file(stack: str, project_dir: Path = REPO_ROOT) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def raw_stack_config(
    stack: str,
    overrides: Mapping[str, str | None] | None = None,
    project_dir: Path = REPO_ROOT,
) -> dict[str, str]:
    """The stack file's config as the engine passes it (strings; objects as JSON), + overrides.

    `overrides` replaces values (`None` removes one). The secret stand-ins are added for the app
    stack only (the project at the repository root), never over a value the file holds.
    """
    path = stack_file(stack, project_dir)
    if not path.is_file():
        raise FileNotFoundError(f"no stack file {path.name}; create it (see platform/README.md)")
    document = yaml.safe_load(path.read_text()) or {}
    # Encrypted values are left out: only the engine can decrypt them (OFFLINE_SECRETS stand in).
    raw, _encrypted = stack_file_values(document.get("config") or {})
    if project_dir == REPO_ROOT:
        for key, secret in OFFLINE_SECRETS.items():
            raw.setdefault(key, secret)
    for key, override in (overrides or {}).items():
        if override is None:
            raw.pop(key, None)
        else:
            raw[key] = override
    return raw
