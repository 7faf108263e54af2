"""The offline half: the app stack's file, the bootstrap's file and the Pulumi CLI on this machine.

The stack files are read as the engine would hand them to the program (`stack_file_values`) and
validated by the program's own models (`StackConfig`, `BootstrapConfig`), so a setting this run
accepts is one `pulumi up` accepts. Secrets stay encrypted: only their presence is checked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.bootstrap_config import BOOTSTRAP_PROJECT, BootstrapConfig
from infra.config import StackConfig, parse_stack_file_without_secrets
from infra.config_model import ConfigError, Secret, read_config, stack_file_values
from infra.paths import REPO_ROOT
from scripts.deploy.secrets_provider import PROVIDER_SCHEME
from scripts.preflight.result import Result, fail, ok

BOOTSTRAP_DIR = Path("platform/bootstrap")
# AWS's documentation account id: the stack files ship with it until the bootstrap's outputs
# replace it (docs/getting-started-on-aws.md, step 3).
PLACEHOLDER_ACCOUNT_ID = "123456789012"
PULUMI_VERSIONS_FILE = Path(".github/versions.env")


class PreflightError(RuntimeError):
    """The run cannot start (a missing file, no credentials); the message says what to do."""


@dataclass(frozen=True)
class StackFile:
    """`Pulumi.<stack>.yaml` and the settings the program would read from it."""

    stack: str
    path: Path
    document: Mapping[str, Any]
    settings: StackConfig | None  # None when the file has problems (listed in `problems`)
    problems: tuple[str, ...]
    encrypted_keys: frozenset[str]


@dataclass(frozen=True)
class BootstrapFile:
    """`platform/bootstrap/Pulumi.<bootstrap stack>.yaml`: the account's CI roles and trust."""

    stack: str
    path: Path
    document: Mapping[str, Any]
    settings: BootstrapConfig | None
    problems: tuple[str, ...]

    @property
    def sub_claim_prefix(self) -> str | None:
        """The subject prefix the bootstrap's roles trust (github_sub_claim_prefix)."""
        return None if self.settings is None else self.settings.github_sub_claim_prefix

    def environment_of(self, app_stack: str) -> str | None:
        """The GitHub environment whose deploy job (and role) updates `app_stack`."""
        if self.settings is None:
            return None
        for target in self.settings.deploy_targets:
            if target.stack == app_stack:
                return target.environment
        return None


def _load_yaml(path: Path, how_to_create: str) -> Mapping[str, Any]:
    if not path.is_file():
        raise PreflightError(f"{path} does not exist; {how_to_create}.")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise PreflightError(f"{path} is not valid YAML ({error}); fix the file.") from None
    if not isinstance(document, Mapping):
        raise PreflightError(f"{path} does not hold a YAML mapping; fix the file.")
    return document


def read_stack_file(stack: str, root: Path = REPO_ROOT) -> StackFile:
    path = root / f"Pulumi.{stack}.yaml"
    document = _load_yaml(
        path, f"create it with `pulumi stack init {stack}` (see platform/README.md)"
    )
    config = document.get("config") or {}
    _raw, encrypted = stack_file_values(config)
    try:
        settings: StackConfig | None = parse_stack_file_without_secrets(config, stack)
        problems: tuple[str, ...] = ()
    except ConfigError as error:
        settings, problems = None, tuple(error.problems)
    return StackFile(stack, path, document, settings, problems, frozenset(encrypted))


def read_bootstrap_file(stack: str, root: Path = REPO_ROOT) -> BootstrapFile:
    path = root / BOOTSTRAP_DIR / f"Pulumi.{stack}.yaml"
    document = _load_yaml(
        path, "describe the account in it (docs/getting-started-on-aws.md, step 1)"
    )
    raw, encrypted = stack_file_values(document.get("config") or {})
    try:
        settings: BootstrapConfig | None = read_config(
            BootstrapConfig, raw, stack, encrypted=encrypted
        )
        problems: tuple[str, ...] = ()
    except ConfigError as error:
        settings, problems = None, tuple(error.problems)
    return BootstrapFile(stack, path, document, settings, problems)


def find_bootstrap_file(app_stack: str, root: Path = REPO_ROOT) -> BootstrapFile:
    """The bootstrap stack whose deploy_environments names `app_stack` (one per AWS account: with
    staging and prod in two accounts, each has its own file), or the only one there is."""
    paths = sorted((root / BOOTSTRAP_DIR).glob("Pulumi.*.yaml"))
    files = [read_bootstrap_file(path.name.removeprefix("Pulumi.").removesuffix(".yaml"), root)
             for path in paths]  # fmt: skip
    deploying = [file for file in files if file.environment_of(app_stack) is not None]
    if len(deploying) == 1:
        return deploying[0]
    if len(deploying) > 1:
        names = ", ".join(file.stack for file in deploying)
        raise PreflightError(
            f"several bootstrap stacks deploy {app_stack!r} ({names}); name one with "
            "--bootstrap-stack"
        )
    if len(files) == 1:
        return files[0]  # its check says that it deploys no such stack
    raise PreflightError(
        f"no bootstrap stack in {BOOTSTRAP_DIR} deploys {app_stack!r}; name one with "
        "--bootstrap-stack, or add the stack to its deploy_environments"
    )


# --- checks --------------------------------------------------------------------------------------


def _required_secret_keys() -> list[str]:
    return [
        StackConfig.key_of(name)
        for name, field in StackConfig.model_fields.items()
        if field.is_required() and any(isinstance(m, Secret) for m in field.metadata)
    ]


def check_stack_settings(stack_file: StackFile) -> Result:
    name = f"stack settings ({stack_file.path.name})"
    missing = [key for key in _required_secret_keys() if key not in stack_file.encrypted_keys]
    problems = list(stack_file.problems) + [
        f"{key} is not set (a required secret: `pulumi config set --stack {stack_file.stack} "
        f"--secret {key.split(':', 1)[1]} <value>`)"
        for key in missing
    ]
    if problems:
        return fail(
            name,
            "\n".join(problems),
            f"edit {stack_file.path.name} (every setting: platform/README.md), then "
            f"`make plan STACK={stack_file.stack}`",
        )
    return ok(name, "valid for the program; required secrets present (encrypted)")


def check_bootstrap_settings(bootstrap: BootstrapFile, app_stack: str) -> Result:
    name = f"bootstrap settings ({bootstrap.path.name})"
    if bootstrap.problems:
        return fail(
            name,
            "\n".join(bootstrap.problems),
            f"edit {BOOTSTRAP_DIR / bootstrap.path.name} (docs/getting-started-on-aws.md, step 1)",
        )
    environment = bootstrap.environment_of(app_stack)
    if environment is None:
        return fail(
            name,
            f"no GitHub environment deploys the stack {app_stack!r} "
            f"({BOOTSTRAP_PROJECT}:deploy_environments)",
            f"add `<environment>: {app_stack}` to {BOOTSTRAP_PROJECT}:deploy_environments "
            "and run `make bootstrap`",
        )
    return ok(name, f"GitHub environment {environment!r} deploys {app_stack!r}")


def check_secrets_provider(stack_file: StackFile) -> Result:
    name = "secrets provider"
    provider = stack_file.document.get("secretsprovider")
    init = (
        f"`pulumi stack init {stack_file.stack} --secrets-provider <the bootstrap's "
        "secrets_provider output>` (docs/getting-started-on-aws.md, step 3)"
    )
    if not provider or provider == "passphrase":
        return fail(
            name,
            f"{stack_file.path.name} has no `secretsprovider:`: Pulumi then uses the passphrase "
            "provider, which stops a non-interactive deploy (no PULUMI_CONFIG_PASSPHRASE in CI)",
            f"create the stack with {init}, or `pulumi stack change-secrets-provider --stack "
            f"{stack_file.stack} <provider>`",
        )
    # The deploy's own rule (scripts/deploy/secrets_provider.py): CI's roles can decrypt only
    # the stack's AWS KMS key, so another key service would pass here and fail the deploy.
    if not str(provider).startswith(PROVIDER_SCHEME):
        return fail(
            name,
            f"secretsprovider {provider!r} is not an AWS KMS key ({PROVIDER_SCHEME}...), the "
            "only key the deploy's roles can decrypt",
            f"use the bootstrap's secrets_provider output ({PROVIDER_SCHEME}...): {init}",
        )
    if not stack_file.document.get("encryptedkey"):
        return fail(
            name,
            f"secretsprovider is {provider}, but {stack_file.path.name} has no `encryptedkey:` "
            "(the stack's data key, encrypted by that provider): its secrets cannot be decrypted",
            f"re-create the stack's key: `pulumi stack change-secrets-provider --stack "
            f"{stack_file.stack} {provider}`, then set its secrets again",
        )
    return ok(name, f"{provider}, with its encrypted data key")


def _placeholder_keys(value: Any, key: str) -> Iterator[str]:
    if isinstance(value, Mapping):
        for inner_key, inner in value.items():
            yield from _placeholder_keys(inner, key if key else str(inner_key))
    elif isinstance(value, list):
        for item in value:
            yield from _placeholder_keys(item, key)
    elif PLACEHOLDER_ACCOUNT_ID in str(value):
        yield key


def check_placeholder_account_ids(files: Mapping[str, Mapping[str, Any]]) -> Result:
    """`files`: a label (the file's path) -> its YAML document."""
    name = "account ids"
    found = []
    for label, document in files.items():
        keys = sorted(set(_placeholder_keys(document.get("config") or {}, "")))
        if keys:
            found.append(f"{label}: {', '.join(keys)}")
    if found:
        return fail(
            name,
            f"the placeholder account id {PLACEHOLDER_ACCOUNT_ID} is still in " + "; ".join(found),
            "put in your account's id (`aws sts get-caller-identity`) and the bootstrap's "
            "outputs (docs/getting-started-on-aws.md, steps 1 and 3)",
        )
    return ok(name, f"no placeholder ({PLACEHOLDER_ACCOUNT_ID}) left in {', '.join(files)}")


# --- the Pulumi CLI ------------------------------------------------------------------------------

VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def pinned_pulumi_version(root: Path = REPO_ROOT) -> str:
    """PULUMI_VERSION from .github/versions.env, the one pin CI installs the CLI from."""
    text = (root / PULUMI_VERSIONS_FILE).read_text(encoding="utf-8")
    match = re.search(r"^PULUMI_VERSION=(\S+)$", text, flags=re.MULTILINE)
    if match is None:
        raise PreflightError(f"{PULUMI_VERSIONS_FILE} names no PULUMI_VERSION")
    return match[1]


def installed_pulumi_version() -> str | None:
    """`pulumi version` as printed (`v3.272.0`), or None when no `pulumi` is on the PATH."""
    executable = shutil.which("pulumi")
    if executable is None:
        return None
    done = subprocess.run(  # noqa: S603 - the `pulumi` on the PATH, which is what is checked
        [executable, "version"], capture_output=True, text=True, timeout=60, check=False
    )
    return done.stdout.strip() or done.stderr.strip()


def check_pulumi_cli(installed: Callable[[], str | None], pinned: str) -> Result:
    name = "Pulumi CLI"
    install = (
        f"install {pinned}: `curl -fsSL https://get.pulumi.com | sh -s -- --version {pinned}` "
        "(https://www.pulumi.com/docs/install/)"
    )
    printed = installed()
    if printed is None:
        return fail(name, "no `pulumi` on the PATH", install)
    match = VERSION.search(printed)
    wanted = VERSION.match(pinned)
    if match is None or wanted is None:
        return fail(name, f"`pulumi version` printed {printed!r}, not a version", install)
    have = tuple(int(part) for part in match.groups())
    want = tuple(int(part) for part in wanted.groups())
    shown = ".".join(map(str, have))
    if have == want:
        return ok(name, f"{shown}, the version CI pins ({PULUMI_VERSIONS_FILE})")
    if have < want or have[0] != want[0]:
        # An older CLI than the pinned SDK (requirements/dev.txt) may not speak its protocol,
        # and state written by CI's newer CLI may not load in it.
        return fail(
            name,
            f"{shown}, but CI and the pinned SDK use {pinned} ({PULUMI_VERSIONS_FILE})",
            install,
        )
    return ok(name, f"{shown}, newer than the {pinned} CI runs ({PULUMI_VERSIONS_FILE})")
