"""Password hashing with Argon2id (pwdlib's recommended parameters)."""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the account does not exist, so a login for an unknown e-mail costs the
# same time as one with a wrong password (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-constant-time")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    if hashed is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, hashed)
