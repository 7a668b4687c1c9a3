"""Brute force: failed logins counted per username and per client address.

After each failure the subject must wait ``base_delay_s x 2^(failures-1)`` (at most ``max_delay_s``)
before the next attempt counts (earlier ones get 429 and ``Retry-After``); at ``max_failures`` it is
locked for ``lockout_s`` or until an admin lifts it. Failures ``lockout_s`` apart do not add up (a typo a
month does not lock anyone). A success clears the username's count (not the address's: one good password
must not reset an attacker's counter on the others). A username that does
not exist is counted like one that does, so the answers never tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from central.store.account_records import LoginFailures


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    base_delay_s: float
    max_delay_s: float
    max_failures_per_user: int
    max_failures_per_client: int
    lockout_s: float


def user_subject(username: str) -> str:
    return f"user:{username}"


def client_subject(client: str) -> str:
    return f"client:{client}"


def wait_ms(f: LoginFailures | None, now_ms: int, policy: LockoutPolicy) -> int:
    """How long before an attempt may be tried for this subject (0: now)."""
    if f is None:
        return 0
    if f.locked_until_ms is not None and f.locked_until_ms > now_ms:
        return f.locked_until_ms - now_ms
    delay_ms = int(min(policy.base_delay_s * 2 ** (f.failures - 1), policy.max_delay_s) * 1000)
    return max(0, f.last_ms + delay_ms - now_ms)


def failed(f: LoginFailures | None, subject: str, now_ms: int, limit: int, lockout_s: float) -> LoginFailures:
    """The count after one more failure; locked once it reaches ``limit``."""
    expired = f is not None and f.locked_until_ms is not None and f.locked_until_ms <= now_ms
    stale = f is not None and now_ms - f.last_ms > lockout_s * 1000
    count = 1 if f is None or expired or stale else f.failures + 1
    locked = now_ms + int(lockout_s * 1000) if count >= limit else None
    return LoginFailures(subject, count, now_ms, locked)
