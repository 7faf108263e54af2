"""The pinned requirement files (requirements/*.txt, compiled by `make lock`), read once for the
tests that hold them to a rule: which distributions are pinned, at which version."""

from __future__ import annotations

import re

from tools.paths import REPO_ROOT

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)", re.MULTILINE)


def normalise(distribution: str) -> str:
    """PEP 503's name normalisation: `Foo_Bar.baz` and `foo-bar-baz` are one distribution."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def pins(lock: str) -> dict[str, str]:
    """Normalised distribution name -> pinned version, from a pin file's text."""
    return {normalise(name): version for name, version in _PIN.findall(lock)}


def read_lock(name: str) -> str:
    """`runtime` or `dev`: the text of requirements/<name>.txt."""
    return (REPO_ROOT / "requirements" / f"{name}.txt").read_text(encoding="utf-8")
