"""Password hashing with Argon2id, bounded in memory and in how many run at once.

Parameters: OWASP Password Storage Cheat Sheet's first Argon2id option (m=19 MiB, t=2, p=1).
pwdlib's defaults (m=64 MiB, t=3, p=4) cost about 5x the memory-time per hash and gave anyone a
way to exhaust the API's memory with parallel logins. Each hash here holds 19 MiB while it runs,
so at most `password_hash_concurrency` of them run per process; a request that cannot get a turn
within `password_hash_wait_seconds` is answered 503 with Retry-After instead of piling up threads.

Hashes made with other parameters (the previous release's) still verify: Argon2 stores them in the
hash, and a successful login re-hashes with the current ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from service.core.errors import ApiError

T = TypeVar("T")

# OWASP: "m=19456 (19 MiB), t=2, p=1" (Password Storage Cheat Sheet, Argon2id).
MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1
# NIST SP 800-63B asks for at least 64; longer inputs only cost hashing time.
MAX_PASSWORD_LENGTH = 128


def argon2id(*, memory_kib: int, time_cost: int, parallelism: int) -> PasswordHash:
    return PasswordHash(
        (Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism),)
    )


def dummy_hash(hasher: PasswordHash) -> str:
    """Verified against when the account does not exist, so a login for an unknown e-mail costs
    the same time as one with a wrong password (no account enumeration by timing)."""
    return hasher.hash("not-a-real-password-only-for-constant-time")


_hasher = argon2id(memory_kib=MEMORY_KIB, time_cost=TIME_COST, parallelism=PARALLELISM)
_DUMMY_HASH = dummy_hash(_hasher)


class _Limit:
    """How many hashes may run at once in this process, and how long a request waits for a turn.

    The hashes run on a pool of exactly `concurrency` threads, not on the request's thread: glibc
    gives each thread its own malloc arena and keeps a freed 19 MiB block in it, so hashing on
    the 40 threads of the request pool grew the process by ~19 MiB per thread (measured: +363 MiB
    for 50 logins with only 2 hashes at a time). Two hashing threads keep two blocks at most.
    """

    def __init__(self, concurrency: int, wait_seconds: float) -> None:
        self.slots = threading.BoundedSemaphore(concurrency)
        # Sign-ups may hold all but one of the slots (issue 23: a sign-up flood shared them with
        # logins and slowed a login from 0.05 s to seconds); a sign-up that finds its share
        # taken is answered 503 at once instead of queueing in front of logins.
        self.signup_slots = threading.BoundedSemaphore(max(1, concurrency - 1))
        self.pool = ThreadPoolExecutor(concurrency, thread_name_prefix="argon2")
        self.wait_seconds = wait_seconds

    def run(self, work: Callable[[], T]) -> T:
        if not self.slots.acquire(timeout=self.wait_seconds):
            raise busy()
        try:
            return self.pool.submit(work).result()
        finally:
            self.slots.release()


_limit = _Limit(concurrency=2, wait_seconds=5.0)


def configure(*, concurrency: int, wait_seconds: float) -> None:
    """Set the per-process limit (the app factory calls this with the settings)."""
    # One limit per process, like the thread pool it protects.
    global _limit
    previous, _limit = _limit, _Limit(concurrency, wait_seconds)
    previous.pool.shutdown(wait=False)


def busy() -> ApiError:
    return ApiError(
        503,
        "busy",
        "too many logins in progress; try again in a moment",
        headers={"Retry-After": "1"},
    )


def hash_password(password: str, *, for_signup: bool = False) -> str:
    """`for_signup`: hashed within sign-ups' share of the slots (see `_Limit`)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"passwords are at most {MAX_PASSWORD_LENGTH} characters")
    if not for_signup:
        return _limit.run(lambda: _hasher.hash(password))
    limit = _limit
    if not limit.signup_slots.acquire(blocking=False):
        raise busy()
    try:
        return limit.run(lambda: _hasher.hash(password))
    finally:
        limit.signup_slots.release()


def verify_password(password: str, hashed: str | None) -> tuple[bool, str | None]:
    """(whether it matches, a new hash when the stored one uses outdated parameters)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False, None  # never hashed: nothing this long was ever accepted
    if hashed is None:
        _limit.run(lambda: _hasher.verify(password, _DUMMY_HASH))
        return False, None
    return _limit.run(lambda: _hasher.verify_and_update(password, hashed))
