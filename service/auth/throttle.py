"""Login throttle: counted before the password is checked, per account, per client address and
per (account, client) pair, with a progressive delay instead of a lock.

Each attempt first *reserves* a try on every key, atomically (an insert-if-missing, then a
compare-and-set update that only one of two concurrent callers can win), and only then is the
password hashed. So attempts still in flight count: 20 parallel guesses get `free` checks, not 20.
A successful login gives its reservation back.

After a key's `free` failures inside the window, the next attempt on it must wait
`login_first_delay_seconds` (1 s), then twice that, and so on up to `login_max_delay_seconds`
(429 with Retry-After until then). Guessing slows down, yet nobody can hold an account locked
for a whole window:
- the pair key (`free` = LOGIN_MAX_FAILURES) slows one address guessing one account at once;
- the client key (LOGIN_CLIENT_MAX_FAILURES) slows password spraying across accounts;
- the account key (LOGIN_ACCOUNT_MAX_FAILURES, well above the pair's) slows guessing one account
  from many addresses, but only for clients that have themselves failed on this account inside
  the window (their pair key counts a failure). A client that has not failed is never delayed by
  it: strangers spending the account's allowance could otherwise keep the owner out for as long
  as they kept guessing (issue 23: 11 addresses x 5 guesses, then one more guess per delay, kept
  the owner's right password answered 429). The price: each fresh address gets one attempt past
  the account's allowance before the account key applies to it too, so a guesser's budget grows
  by one per address (besides the pair key's five), which the client key still caps per address
  and the /64 rule caps per IPv6 network.
Unknown e-mails are throttled like real ones, so the answers reveal nothing about which exist.
The client is what the server believes after the trusted proxies (TRUSTED_PROXIES), keyed by its
network: an IPv4 address, or the /64 an IPv6 address is in (every IPv6 subscriber holds at least a
/64, so keying single addresses gave each one 2^64 fresh keys).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service.auth.models import LoginAttempts
from service.core.config import Settings
from service.core.db import utcnow

# Compare-and-set rounds before giving up (each lost round means another attempt was counted).
_MAX_ROUNDS = 200


# Every IPv6 subscriber gets at least a /64 (RFC 6177; CloudFront passes IPv6 viewers through).
IPV6_CLIENT_PREFIX = 64


@dataclass(frozen=True)
class ThrottleKey:
    key: str
    free: int  # failures inside the window before delays start
    reset_on_success: bool = False  # the owner got in from here: start counting afresh
    # This key's count of earlier failures says whether the client has failed on this account.
    tells_whether_client_failed: bool = False
    # Never delays a client that has not failed on this account (see the module's docstring).
    spares_clients_without_failures: bool = False


def client_network(client: str) -> str:
    """The throttle's key for a client address: an IPv4 address as it is, an IPv6 address as its
    /64 (an IPv4-mapped IPv6 address as the IPv4 address); anything else as given."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:  # "unknown", "testclient": no address to group
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


def keys_for(settings: Settings, *, email: str, client: str) -> list[ThrottleKey]:
    network = client_network(client)
    return [
        ThrottleKey(
            f"pair:{network}|{email}",
            settings.login_max_failures,
            reset_on_success=True,
            tells_whether_client_failed=True,
        ),
        ThrottleKey(f"client:{network}", settings.login_client_max_failures),
        ThrottleKey(
            f"account:{email}",
            settings.login_account_max_failures,
            spares_clients_without_failures=True,
        ),
    ]


def delay_after(failures: int, *, free: int, first: int, most: int) -> float:
    """Seconds the next attempt waits after `failures` failures: 0, …, 0, first, 2 first, … most."""
    if failures < free:
        return 0.0
    return float(min(most, first * 2 ** min(failures - free, 30)))


def reserve(session: Session, settings: Settings, keys: list[ThrottleKey]) -> int:
    """Count one attempt on every key; 0 when it may proceed, else seconds to wait (nothing
    counted then)."""
    reserved: list[ThrottleKey] = []
    client_failed = True
    for key in keys:
        enforce = client_failed or not key.spares_clients_without_failures
        wait, earlier = _reserve_one(session, settings, key, enforce=enforce)
        if wait:
            give_back(session, reserved)
            return wait
        if key.tells_whether_client_failed:
            client_failed = earlier > 0
        reserved.append(key)
    return 0


def succeeded(session: Session, keys: list[ThrottleKey]) -> None:
    """The password was right: reset what the owner's own tries counted, give back the rest."""
    resets = [key.key for key in keys if key.reset_on_success]
    if resets:
        session.execute(delete(LoginAttempts).where(LoginAttempts.key.in_(resets)))
    give_back(session, [key for key in keys if not key.reset_on_success])


def give_back(session: Session, keys: list[ThrottleKey]) -> None:
    """Undo a reservation (the attempt succeeded, or another key refused it)."""
    for key in keys:
        session.execute(
            update(LoginAttempts)
            .where(LoginAttempts.key == key.key, LoginAttempts.failures > 0)
            .values(failures=LoginAttempts.failures - 1)
        )
    session.commit()


def _reserve_one(
    session: Session, settings: Settings, key: ThrottleKey, *, enforce: bool = True
) -> tuple[int, int]:
    """(seconds to wait, or 0 when counted; failures counted inside the window before this one).
    `enforce=False` counts the attempt without making it wait."""
    window = timedelta(seconds=settings.login_failure_window_seconds)
    for _ in range(_MAX_ROUNDS):
        _ensure_row(session, key.key, utcnow())
        # FOR UPDATE queues concurrent attempts on PostgreSQL (no lost rounds there); SQLite
        # ignores it and serialises the writes, where the compare-and-set below decides.
        row = session.execute(
            select(
                LoginAttempts.failures,
                LoginAttempts.window_started_at,
                LoginAttempts.next_attempt_at,
            )
            .where(LoginAttempts.key == key.key)
            .with_for_update()
        ).one_or_none()
        if row is None:  # a successful login reset it just now
            session.rollback()
            continue
        failures, started, next_at = row
        now = utcnow()
        earlier = failures
        if now - started >= window:
            new_failures, new_started, earlier = 1, now, 0  # nothing earlier counts any more
        elif now < next_at and enforce:
            session.rollback()
            return _seconds_until(next_at, now), earlier
        else:
            new_failures, new_started = failures + 1, started
        delay = delay_after(
            new_failures,
            free=key.free,
            first=settings.login_first_delay_seconds,
            most=settings.login_max_delay_seconds,
        )
        result = session.execute(
            update(LoginAttempts)
            .where(
                LoginAttempts.key == key.key,
                LoginAttempts.failures == failures,
                LoginAttempts.window_started_at == started,
            )
            .values(
                failures=new_failures,
                window_started_at=new_started,
                # An attempt counted without waiting never shortens a delay already running.
                next_attempt_at=max(next_at, now + timedelta(seconds=delay)),
            )
        )
        session.commit()
        if cast(CursorResult[Any], result).rowcount == 1:
            return 0, earlier
    return 1, 0  # so contended that another attempt won every round: ask the caller to come back


def _ensure_row(session: Session, key: str, now: datetime) -> None:
    # Insert-if-missing in one statement: two first failures at once no longer race to an
    # IntegrityError (the previous release answered 500 there).
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginAttempts)
        .values(key=key, failures=0, window_started_at=now, next_attempt_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    session.commit()


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))
