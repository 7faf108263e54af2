"""`python -m tools.rehearsal`'s arguments: a broken variant always names the part it breaks."""

from __future__ import annotations

import pytest

from tools.rehearsal.cli import parse_args


def test_the_default_run_is_both_rehearsals_at_full_size() -> None:
    args = parse_args([])
    assert (args.target, args.replicas, args.requests, args.broken) == ("all", 3, 10_000, None)


@pytest.mark.parametrize(
    "argv",
    [
        ["--broken", "no-drain"],  # which part?
        ["--target", "worker", "--broken", "no-drain"],  # an api variant
        ["--target", "api", "--broken", "kill"],  # a worker variant
        ["--replicas", "0"],
        ["--scale", "2"],
    ],
)
def test_nonsense_is_refused_before_anything_starts(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        parse_args(argv)
    assert refused.value.code == 2


def test_a_broken_variant_is_accepted_for_its_own_part() -> None:
    assert parse_args(["--target", "api", "--broken", "no-readiness-gate"]).broken == (
        "no-readiness-gate"
    )
    assert parse_args(["--target", "worker", "--broken", "kill"]).broken == "kill"
