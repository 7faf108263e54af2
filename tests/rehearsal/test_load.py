"""The load generator's guard rails."""

from __future__ import annotations

import pytest

from tools.rehearsal.load import DEFAULT_MIX, EXPECTED, parse_args


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.5:8000"])
def test_the_load_only_ever_targets_this_machine(url: str) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--base-url", url, "--out", "records.json", "--accounts", "accounts.json"])


def test_a_local_target_with_its_accounts_is_accepted() -> None:
    args = parse_args(
        ["--base-url", "http://127.0.0.1:8080", "--out", "r.json", "--accounts", "a.json"]
    )
    assert args.accounts == "a.json"


def test_every_kind_in_the_mix_has_the_answer_it_must_get() -> None:
    assert set(DEFAULT_MIX) <= set(EXPECTED)
    assert EXPECTED["missing_item"] == 404  # a 4xx by design counts as a success


def test_the_missing_item_is_an_id_the_api_accepts_so_the_answer_is_404() -> None:
    from service.core.params import MAX_ID
    from tools.rehearsal.load import MISSING_ITEM_ID

    assert 1 <= MISSING_ITEM_ID <= MAX_ID  # out of range would be a 422, counted as a failure
