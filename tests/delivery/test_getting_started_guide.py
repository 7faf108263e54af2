"""docs/getting-started-on-aws.md matches the code: every command it gives names a real target,
module, setting and output, and the ones that run without AWS or GitHub are run here."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from infra.bootstrap_config import BootstrapConfig
from infra.bootstrap_program import OUTPUT_NAMES
from infra.config import StackConfig
from scripts.github_setup.repository import Repository
from scripts.preflight.stack_files import pinned_pulumi_version
from tests.delivery.support import REPO_ROOT
from tools.plan.offline import evaluate_bootstrap

GUIDE = REPO_ROOT / "docs" / "getting-started-on-aws.md"
TEXT = GUIDE.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```sh\n(.*?)```", TEXT, flags=re.DOTALL)
COMMANDS = [
    line.strip()
    for block in BLOCKS
    for line in block.replace("\\\n", " ").splitlines()
    if line.strip() and not line.strip().startswith("#")
]


def test_the_guide_has_its_numbered_steps():
    for step in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6."):
        assert step in TEXT
    assert len(COMMANDS) > 15


def test_every_make_target_in_the_guide_exists():
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = {m for c in COMMANDS for m in re.findall(r"\bmake ([a-z-]+)", c)}
    assert {"plan-bootstrap", "bootstrap", "plan"} <= targets
    for target in targets:
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target


def test_every_python_module_in_the_guide_exists():
    modules = {m for c in COMMANDS for m in re.findall(r"python -m ([\w.]+)", c)}
    assert "scripts.github_setup" in modules
    for module in modules:
        assert importlib.util.find_spec(module) is not None, module


def test_every_bootstrap_output_the_guide_reads_is_one_the_bootstrap_exports():
    read = {m for c in COMMANDS for m in re.findall(r"bootstrap-shipyard\.json (\w+)", c)}
    assert read
    assert read <= set(OUTPUT_NAMES), read - set(OUTPUT_NAMES)


def test_every_stack_setting_the_guide_sets_is_a_known_setting():
    known = set(StackConfig.config_fields().values())
    keys = {
        m
        for c in COMMANDS
        for m in re.findall(r"pulumi config set --stack \S+ (?:--secret )?(\w+)", c)
    }
    assert {"image_repository", "workload_boundary_arn", "jwt_secret"} <= keys
    for key in keys:
        assert f"shipyard:{key}" in known, key


def test_every_bootstrap_setting_in_the_guides_table_is_read_by_the_bootstrap():
    known = set(BootstrapConfig.config_fields().values())
    table = re.findall(r"^\| `(\w+)` \|", TEXT, flags=re.MULTILINE)
    assert "state_bucket" in table
    for key in table:
        assert f"shipyard-bootstrap:{key}" in known, key


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The repository root as the guide expects it after `make bootstrap` (outputs file)."""
    directory = tmp_path_factory.mktemp("guide")
    outputs = evaluate_bootstrap("shipyard").outputs
    (directory / "bootstrap-shipyard.json").write_text(json.dumps(outputs))
    return directory, outputs


def _run(command: str, cwd) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[:2] == ["python", "-m"], command
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_the_stack_output_reads_in_the_guide_return_the_bootstraps_values(workdir):
    directory, outputs = workdir
    reads = sorted(
        {
            m
            for c in COMMANDS
            for m in re.findall(r"\$\((python -m scripts\.deploy\.stack_outputs [^)]+)\)", c)
        }
    )
    assert reads
    for command in reads:
        result = _run(command, directory)
        name = command.rsplit(" ", 1)[1]
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == outputs[name], command


def test_the_guides_github_setup_dry_run_prints_the_wiring_from_the_bootstrap(workdir):
    directory, outputs = workdir
    (dry,) = [c for c in COMMANDS if "scripts.github_setup" in c and "--dry-run" in c]
    command = dry.replace("OWNER/NAME", "acme/shop").replace("YOUR_LOGIN", "octocat")
    result = _run(command, directory)
    assert result.returncode == 0, result.stdout + result.stderr
    for value in (
        outputs["preview_role_arn"], outputs["image_push_role_arn"], outputs["state_backend_url"],
        outputs["deploy_targets"]["production"]["deploy_role_arn"], "GET /users/octocat",
    ):  # fmt: skip
        assert value in result.stdout, value


def _block_with(text: str) -> str:
    (block,) = [b for b in BLOCKS if text in b]
    return block


@pytest.fixture
def account_folder(tmp_path, workdir):
    """A copy of the repository's Makefile in a folder of its own, with a stand-in `pulumi` that
    logs where each call keeps its state (and answers `stack output` with the bootstrap's
    evaluated outputs), a `python` that is this interpreter, and `.venv` already installed."""
    _, outputs = workdir
    shutil.copy(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "platform" / "bootstrap").mkdir(parents=True)
    for name in ("requirements/dev.txt", "requirements/runtime.txt", "pyproject.toml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).touch()
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "uv").touch()
    (tmp_path / ".venv" / ".installed").touch()  # after its prerequisites: make installs nothing
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = {
        "pulumi": '#!/bin/sh\necho "$PWD|$PULUMI_BACKEND_URL|$*" >> "$PULUMI_CALLS"\n'
        'case "$*" in "stack output"*) cat "$PULUMI_OUTPUTS";; esac\n',
        "python": f'#!/bin/sh\nexec "{sys.executable}" "$@"\n',
    }
    for name, script in fake.items():
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    return tmp_path, outputs


def _shell(script: str, folder) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{folder / 'bin'}:/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "PULUMI_CALLS": str(folder / "calls"),
        "PULUMI_OUTPUTS": str(folder / "outputs.json"),
        "HOME": str(folder),
    }
    return subprocess.run(
        ["bash", "-euc", script], cwd=folder, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def _calls(folder) -> list[tuple[str, str, str]]:
    lines = (folder / "calls").read_text().splitlines()
    (folder / "calls").unlink()
    return [tuple(line.split("|", 2)) for line in lines]


def test_the_guides_bootstrap_state_stays_where_the_makefile_looks(account_folder):
    """Step 2 as written: `make bootstrap` (local state), the move into the bucket, then the
    guide's re-run: each `pulumi` call keeps its state where the previous one left it, and a
    plain `make bootstrap` after the move refuses instead of starting from an empty state."""
    folder, outputs = account_folder
    local = f"file://{folder}/.bootstrap-state"
    bucket = outputs["state_backend_url"]

    first = _shell(_block_with("make bootstrap\n"), folder)
    assert first.returncode == 0, first.stdout + first.stderr
    assert {url for _, url, _ in _calls(folder)} == {local}

    moved = _shell(_block_with("pulumi stack export"), folder)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    calls = _calls(folder)
    exports = [url for _, url, args in calls if args.startswith("stack export")]
    imports = [url for _, url, args in calls if args.startswith(("stack init", "stack import"))]
    exported_from = [os.path.normpath(url.removeprefix("file://")) for url in exports]
    assert exported_from == [str(folder / ".bootstrap-state")]
    assert imports == [bucket, bucket]

    plain = _shell("make bootstrap", folder)
    assert plain.returncode != 0
    assert f"make bootstrap BOOTSTRAP_BACKEND_URL={bucket}" in plain.stdout + plain.stderr
    assert not (folder / "calls").exists(), "a refused run must not call pulumi"

    again = _shell(_block_with("make bootstrap BOOTSTRAP_BACKEND_URL="), folder)
    assert again.returncode == 0, again.stdout + again.stderr
    assert {url for _, url, _ in _calls(folder)} == {bucket}


def test_make_bootstrap_without_the_moved_note_uses_the_local_state(account_folder):
    """Control for the refusal above: before any move, plain `make bootstrap` runs locally, and
    an explicit URL is used as given."""
    folder, _ = account_folder
    assert _shell("make bootstrap", folder).returncode == 0
    assert {url for _, url, _ in _calls(folder)} == {f"file://{folder}/.bootstrap-state"}
    assert _shell("make bootstrap BOOTSTRAP_BACKEND_URL=s3://elsewhere", folder).returncode == 0
    assert {url for _, url, _ in _calls(folder)} == {"s3://elsewhere"}


def test_the_guide_names_the_pulumi_cli_version_ci_pins():
    pinned = pinned_pulumi_version()
    named = re.findall(r"Pulumi CLI \*\*([\d.]+)\*\*", TEXT)
    installs = re.findall(r"get\.pulumi\.com \| sh -s -- --version ([\d.]+)", TEXT)
    assert named == [pinned], f"'What you need' must name the Pulumi CLI {pinned}"
    assert installs == [pinned], f"the install command must install {pinned}"


def test_every_setting_the_guides_text_names_is_a_known_setting():
    known = {
        *StackConfig.config_fields().values(),
        *BootstrapConfig.config_fields().values(),
        "aws:region",
    }
    named = set(re.findall(r"`((?:shipyard|shipyard-bootstrap|aws):\w+)", TEXT))
    assert {"shipyard:domain_name", "shipyard:hosted_zone_id", "aws:region"} <= named
    assert named <= known, named - known


def test_the_guide_names_every_file_that_sets_a_region():
    """'What you need' says where to change the region: every stack file with an `aws:region`
    (the app stacks as `Pulumi.<stack>.yaml`, the bootstrap's by its path)."""
    files = [
        path.relative_to(REPO_ROOT).as_posix()
        for path in (*REPO_ROOT.glob("Pulumi.*.yaml"), *REPO_ROOT.glob("platform/*/Pulumi.*.yaml"))
        if re.search(r"^\s+aws:region:", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    ]
    assert "Pulumi.staging.yaml" in files
    (region,) = [item for item in TEXT.split("\n- ") if item.startswith("A region.")]
    region = " ".join(region.split())
    for file in files:
        assert f"`{file}`" in region or ("/" not in file and "`Pulumi.<stack>.yaml`" in region), (
            file
        )


# The guide's plan table, cell by cell: who may have a protection, in the words the table uses.
PUBLIC_CELLS = {
    "every plan": ("User", "Organization"),
    "owned by an organisation": ("Organization",),
}
PRIVATE_CELLS = {
    "Pro, Team or Enterprise": {"pro", "team", "enterprise"},
    "Enterprise": {"enterprise"},
    "an organisation on Enterprise Cloud": {"enterprise"},
}
PROTECTIONS = {
    "environments": "environments",
    "required reviewers": "environment_reviewers",
    "ruleset": "rulesets",
    "merge queue": "merge_queue",
}


def _plan_table(text: str) -> dict[str, tuple[str, str]]:
    header = "| protection | public repository | private repository |"
    rows = text.split(header, 1)[1].split("\n\n", 1)[0].strip().splitlines()[1:]
    table = {}
    for row in rows:
        protection, public, private = (cell.strip() for cell in row.strip().strip("|").split("|"))
        (field,) = [f for words, f in PROTECTIONS.items() if protection.startswith(words)]
        table[field] = (public.split(".")[0], private.split(".")[0])
    return table


def _table_disagreements(text: str) -> list[str]:
    table = _plan_table(text)
    wrong = []
    for field, (public, private) in table.items():
        for owner in ("User", "Organization"):
            for plan in ("free", "pro", "team", "enterprise"):
                for visibility, says in (
                    ("public", owner in PUBLIC_CELLS[public]),
                    ("private", plan in PRIVATE_CELLS[private]
                     and (owner == "Organization" or "organisation" not in private)),
                ):  # fmt: skip
                    repository = Repository("o/r", owner, visibility, plan, "main", "repo:o/r")
                    if getattr(repository.features, field) != says:
                        wrong.append(f"{field}: {repository.kind}")
    return [*wrong, *(f"no row for {f}" for f in PROTECTIONS.values() if f not in table)]


def test_the_guides_plan_table_is_what_github_setup_applies():
    """Each protection's row says exactly which repositories scripts/github_setup gives it
    (`Repository.features`, from GitHub's docs), for either owner and every plan."""
    assert _table_disagreements(TEXT) == []


def test_the_plan_table_check_fails_when_a_row_is_wrong():
    """Control: the merge queue claimed for every public repository is caught."""
    row = "| merge queue (previews prod before merging) |"
    wrong = TEXT.replace(f"{row} owned by an organisation |", f"{row} every plan |")
    assert wrong != TEXT
    assert "merge_queue: user-owned public repository (GitHub Free)" in _table_disagreements(wrong)


def _step(number: int) -> str:
    return TEXT.split(f"\n## {number}.", 1)[1].split("\n## ", 1)[0]


def test_step_4_names_every_variable_label_and_ruleset_the_dry_run_writes(workdir):
    directory, _ = workdir
    (dry,) = [c for c in COMMANDS if "scripts.github_setup" in c and "--dry-run" in c]
    result = _run(
        dry.replace("OWNER/NAME", "acme/shop").replace("YOUR_LOGIN", "octocat"), directory
    )
    assert result.returncode == 0, result.stdout + result.stderr
    written = set(re.findall(r"/variables/([A-Z_]+) if it exists", result.stdout))
    written |= set(re.findall(r'"name": "(allow-destructive:\w+|main: [^"]+)"', result.stdout))
    stacks = sorted({m.split(":", 1)[1] for m in written if m.startswith("allow-destructive:")})
    text = " ".join(_step(4).split())
    named = set()
    for name in re.findall(r"`([A-Z_]+(?:<STACK>)?|allow-destructive:<stack>|main: [^`]+)`", text):
        if "<STACK>" in name or "<stack>" in name:
            named |= {name.replace("<STACK>", s.upper()).replace("<stack>", s) for s in stacks}
        else:
            named.add(name)
    assert stacks == ["prod", "staging"]
    # A preview variable exists only for the bootstrap's preview stacks: the guide says so.
    named -= {f"AWS_PREVIEW_ROLE_ARN_{s.upper()}" for s in stacks} - written
    assert written - named == set(), "step 4 does not mention these"
    assert named - written == set(), "step 4 mentions what the set-up does not write"
