"""The service image: hadolint-clean, multi-stage, pinned, non-root, exec-form, minimal context.

No Docker engine runs here, so the Dockerfile is checked by hadolint and by reading it, and the
build context by applying .dockerignore's rules to the repository's files.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field

import pytest

from tests.delivery.support import REPO_ROOT, tool

DOCKERFILE = REPO_ROOT / "Dockerfile"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args_of(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())  # join continuation lines
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, args = line.partition(" ")
            found.append((name.upper(), " ".join(args.split())))
    return found


def _stages() -> tuple[dict[str, str], list[Stage]]:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for name, args in _instructions():
        if name == "FROM":
            parts = args.split()
            base = parts[0]
            for arg, value in global_args.items():
                base = base.replace(f"${{{arg}}}", value)
            stages.append(Stage(base, parts[2] if len(parts) > 2 else None))
        elif stages:
            stages[-1].instructions.append((name, args))
        elif name == "ARG":
            key, _, value = args.partition("=")
            global_args[key] = value
    return global_args, stages


def test_hadolint_is_clean():
    result = subprocess.run(
        [tool("hadolint"), "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert json.loads(result.stdout or "[]") == [], result.stdout
    assert result.returncode == 0


def test_the_base_image_is_slim_python_3_11_pinned_by_tag_and_digest():
    _, stages = _stages()
    assert len(stages) >= 2, "multi-stage: a build stage and a runtime stage"
    for stage in stages:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+@sha256:[0-9a-f]{64}", stage.base), (
            stage.base
        )
    assert len({stage.base for stage in stages}) == 1  # the venv is built on the image it runs on


def test_dependencies_come_from_the_pinned_file_with_hashes_and_wheels_only():
    _, stages = _stages()
    installs = [
        run for stage in stages[:-1] for run in stage.args_of("RUN") if "pip install" in run
    ]
    assert len(installs) == 1
    assert "--require-hashes" in installs[0]
    assert "--only-binary=:all:" in installs[0]
    assert "runtime.txt" in installs[0]
    runtime = (REPO_ROOT / "requirements" / "runtime.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.\[\]-]+)==", runtime, re.MULTILINE)
    hashed = re.findall(r"^[A-Za-z0-9_.\[\]-]+==[^\n]*\\\n\s+--hash=sha256:", runtime, re.MULTILINE)
    assert pins
    assert len(hashed) == len(pins), "every pin in runtime.txt carries a hash"


def test_the_runtime_stage_holds_the_venv_and_the_service_only():
    _, stages = _stages()
    runtime = stages[-1]
    copies = runtime.args_of("COPY")
    assert copies == ["--from=build /opt/venv /opt/venv", "service/ /app/service/"]
    runs = " ".join(runtime.args_of("RUN"))
    for forbidden in ("apt-get", "gcc", "build-essential", "pip install", "tests"):
        assert forbidden not in runs, f"the final stage must not {forbidden!r}"


def test_the_server_runs_as_an_unprivileged_user_as_pid_1():
    _, stages = _stages()
    runtime = stages[-1]
    user = runtime.args_of("USER")[-1]
    assert user.split(":")[0] not in ("0", "root")
    names = [name for name, _ in runtime.instructions]
    assert names.index("USER") < names.index("CMD")
    assert json.loads(runtime.args_of("CMD")[-1]) == ["python", "-m", "service", "api"]  # exec form
    assert not runtime.args_of("ENTRYPOINT"), "an entrypoint shell would sit between ECS and Python"


def test_the_container_listens_on_8000_on_all_interfaces():
    _, stages = _stages()
    runtime = stages[-1]
    assert runtime.args_of("EXPOSE") == ["8000"]
    env = " ".join(runtime.args_of("ENV"))
    for setting in ("PORT=8000", "HOST=0.0.0.0", "PYTHONUNBUFFERED=1", "PATH=/opt/venv/bin:$PATH"):
        assert setting in env


# --- the build context ----------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip("/")
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            out, index = out + ".*", index + 2
        elif pattern[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif pattern[index] == "?":
            out, index = out + "[^/]", index + 1
        elif pattern[index] == "[":
            end = pattern.index("]", index)
            out, index = out + pattern[index : end + 1], end + 1
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    return re.compile(out)


def _sent_to_builder(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    included = True
    for exclude, regex in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            included = not exclude
    return included


def _dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            rules.append((not negated, _pattern_regex(line.lstrip("!"))))
    return rules


def _repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    return [
        *listed,
        ".git/config",
        ".venv/bin/python",
        ".local/shipyard.db",
        ".env",
        "node_modules/x/index.js",
        "service/__pycache__/app.cpython-311.pyc",
        "service/core/__pycache__/config.cpython-311.pyc",
        "service/local.db",
        "tests/delivery/test_dockerfile.py",
        "platform/__main__.py",
        "Pulumi.prod.yaml",
        "requirements/dev.txt",
        "web/index.html",
        "Dockerfile",
    ]


def test_the_build_context_is_the_service_and_its_runtime_pins_only():
    rules = _dockerignore_rules()
    sent = {path for path in _repository_files() if _sent_to_builder(path, rules)}

    assert "requirements/runtime.txt" in sent
    assert "service/__init__.py" in sent
    strays = sorted(
        p for p in sent if not p.startswith("service/") and p != "requirements/runtime.txt"
    )
    assert strays == []
    assert not [p for p in sent if "__pycache__" in p or p.endswith((".pyc", ".db"))]


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        ("service/core/config.py", True),
        ("servicex/a.py", False),
        ("a/service/b.py", False),
        ("requirements/runtime.txt", True),
        ("requirements/runtime.txt.bak", False),
    ],
)
def test_the_context_rules_match_paths_the_way_docker_does(path, sent):
    assert _sent_to_builder(path, _dockerignore_rules()) is sent
