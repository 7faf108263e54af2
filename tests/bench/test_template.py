"""The template's row of `make bench` (tools/bench/template.py): where its checkout comes from,
the flags that ask for it, its settings, and its table in RESULTS.md. The measured run itself
needs the template's dependencies from PyPI and is `make bench`'s, not the suite's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.bench.api_bench import Comparison
from tools.bench.cli import parse_args, template_source
from tools.bench.http_load import LoadResult
from tools.bench.machine import Machine
from tools.bench.report import BenchRun, render
from tools.bench.template import (
    PINNED_COMMIT,
    TemplateError,
    TemplateSource,
    template_env,
)


def test_a_git_spec_names_its_commit_or_takes_the_pinned_one() -> None:
    url = "https://github.com/fastapi/full-stack-fastapi-template"
    assert TemplateSource.from_git_spec(f"{url}@abc123") == TemplateSource(
        git_url=url, commit="abc123"
    )
    assert TemplateSource.from_git_spec(url) == TemplateSource(git_url=url, commit=PINNED_COMMIT)
    # An "@" inside the address (user@host) is not a commit.
    ssh = "ssh://git@example.com/fastapi/full-stack-fastapi-template"
    assert TemplateSource.from_git_spec(ssh) == TemplateSource(git_url=ssh, commit=PINNED_COMMIT)


def test_a_path_that_is_not_the_template_is_refused_with_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"no backend/pyproject\.toml.*--template-git"):
        TemplateSource(path=tmp_path).checkout(tmp_path)
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    assert TemplateSource(path=tmp_path).checkout(tmp_path / "work") == tmp_path  # the control


def test_the_flags_choose_the_template_and_only_the_api(tmp_path: Path) -> None:
    args = parse_args(["--only-api", "--template-path", str(tmp_path)])
    assert (args.skip_api, args.skip_orders, args.outages) == (False, True, [])
    assert template_source(args) == TemplateSource(path=tmp_path.resolve())
    assert template_source(parse_args([])) is None
    with pytest.raises(SystemExit):
        parse_args(["--template-path", str(tmp_path / "missing")])
    with pytest.raises(SystemExit):  # one source at a time
        parse_args(["--template-path", str(tmp_path), "--template-git", "x@y"])


def test_its_settings_point_at_the_scratch_database_and_pass_its_staging_checks() -> None:
    env = template_env("postgresql+psycopg://bench@db.example:6543/scratch_1", 8123)
    assert (env["POSTGRES_SERVER"], env["POSTGRES_PORT"]) == ("db.example", "6543")
    assert (env["POSTGRES_USER"], env["POSTGRES_DB"]) == ("bench", "scratch_1")
    assert env["ENVIRONMENT"] == "staging"
    # Its config refuses "changethis" outside local; none of its secrets may be that or empty.
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "FIRST_SUPERUSER_PASSWORD"):
        assert env[name] not in ("", "changethis"), name


def _load(name: str, requests: int, p99: float) -> LoadResult:
    return LoadResult(name, requests, 0, 10.0, 2.0, p99)


def test_the_template_gets_its_own_table_with_our_ratio_to_it() -> None:
    machine = Machine("Test CPU", 2, "3.11.9", "Linux 6", "2026-01-01 00:00 UTC", "0.1")
    with_template = Comparison(
        _load("item list", 600, 9.0),
        _load("bare", 1000, 3.0),
        _load("reference", 800, 5.0),
        template=_load("template: item list", 200, 30.0),
    )
    without = Comparison(_load("order placement", 300, 9.0), _load("bare", 1000, 3.0))
    text = render(
        BenchRun(machine, 10, 12, api=[with_template, without], template_commit=PINNED_COMMIT)
    )
    assert f"`{PINNED_COMMIT}`" in text
    assert "| item list | 20 | 2.0 / 30.0 | 0.00 | 60 | **3.00** | 0.30 |" in text
    assert "| order placement | " not in text.split("### The template")[1]
    assert "### The template" not in render(BenchRun(machine, 10, 12, api=[without]))
