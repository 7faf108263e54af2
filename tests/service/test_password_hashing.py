"""Password hashing with the production parameters (the other in-process tests use cheap ones,
see tests/conftest.py): OWASP's Argon2id option, outdated hashes upgraded on login, limits."""

from __future__ import annotations

import pytest

from service.auth import passwords
from service.auth.passwords import MAX_PASSWORD_LENGTH, hash_password, verify_password

PASSWORD = "correct horse battery staple"


@pytest.mark.real_password_hashing
def test_hashes_use_owasps_argon2id_parameters() -> None:
    assert hash_password(PASSWORD).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.real_password_hashing
def test_a_hash_verifies_and_a_wrong_password_does_not() -> None:
    stored = hash_password(PASSWORD)
    assert verify_password(PASSWORD, stored) == (True, None)
    assert verify_password(PASSWORD + "!", stored) == (False, None)


@pytest.mark.real_password_hashing
def test_a_hash_with_outdated_parameters_verifies_and_is_upgraded() -> None:
    # The previous release's parameters: pwdlib's defaults.
    old = passwords.argon2id(memory_kib=65536, time_cost=3, parallelism=4).hash(PASSWORD)
    matches, upgraded = verify_password(PASSWORD, old)
    assert matches
    assert upgraded is not None
    assert upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.real_password_hashing
def test_an_unknown_account_still_costs_one_verification(monkeypatch) -> None:
    verified: list[tuple[str, str]] = []
    real = passwords._hasher.verify

    def counting(password: str, hashed: str) -> bool:
        verified.append((password, hashed))
        return real(password, hashed)

    monkeypatch.setattr(passwords._hasher, "verify", counting)
    assert verify_password(PASSWORD, None) == (False, None)
    assert len(verified) == 1
    assert verified[0][1] == passwords._DUMMY_HASH
    assert passwords._DUMMY_HASH.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.real_password_hashing
def test_over_long_passwords_are_refused_before_hashing() -> None:
    with pytest.raises(ValueError, match="at most"):
        hash_password("x" * (MAX_PASSWORD_LENGTH + 1))
    assert verify_password("x" * (MAX_PASSWORD_LENGTH + 1), hash_password(PASSWORD)) == (
        False,
        None,
    )


def test_control_in_process_tests_without_the_marker_hash_cheaply() -> None:
    assert hash_password(PASSWORD).startswith("$argon2id$v=19$m=8,t=1,p=1$")
