"""Logging in with a username and password: lockout first, then the password, then a session.

Wrong username and wrong password answer alike (401 "wrong username or password"), take alike (one
argon2 verification either way) and count alike. Every attempt is audited with the client's address.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from central.accounts import lockout, sessions
from central.accounts.audit import audit
from central.accounts.passwords import verify
from central.accounts.users import actor
from central.auth import secret_hash
from central.store.account_records import Session, User
from central.store.accounts_schema import TOP_ORG

if TYPE_CHECKING:
    from central.services import Services

WRONG = "wrong username or password"


class LoginRefusedError(Exception):
    def __init__(self, reason: str, retry_after_s: int | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class LoggedIn:
    token: str
    session: Session
    user: User


def policy_of(services: Services) -> lockout.LockoutPolicy:
    s = services.settings
    return lockout.LockoutPolicy(
        s.login_delay_s, s.login_max_delay_s, s.login_max_failures_per_user, s.login_max_failures_per_client,
        s.login_lockout_s,
    )  # fmt: skip


async def log_in(services: Services, username: str, password: str, client: str) -> LoggedIn:
    """A new session; ``LoginRefusedError`` (401, or 429 with ``retry_after_s``)."""
    store, accounts, policy = services.store, services.auth.accounts, policy_of(services)
    now_ms = services.clock_ms()
    subjects = (lockout.user_subject(username), lockout.client_subject(client))
    counts = [await store.query(accounts.failures, s) for s in subjects]
    wait = max(lockout.wait_ms(f, now_ms, policy) for f in counts)
    user = await store.query(accounts.user, username)
    org_id = user.org_id if user is not None else TOP_ORG
    if wait > 0:
        await audit(services, "login.refused", username, actor=username, org_id=org_id, client=client,
                    detail={"retry_after_ms": wait})  # fmt: skip
        raise LoginRefusedError("too many failed logins: try again later", -(-wait // 1000))
    good = await asyncio.to_thread(verify, user.password_hash if user else None, password)
    if not good or user is None or user.disabled_ms is not None:
        limits = (policy.max_failures_per_user, policy.max_failures_per_client)
        for subject, f, limit in zip(subjects, counts, limits, strict=True):
            await store.query(
                accounts.put_failures, lockout.failed(f, subject, now_ms, limit, policy.lockout_s)
            )
        await audit(services, "login.failed", username, actor=username, org_id=org_id, client=client)
        raise LoginRefusedError(WRONG)
    if counts[0] is not None:
        await store.query(accounts.clear_failures, subjects[0])
    plain, session_id, secret = sessions.make()
    row = Session(session_id, username, client, now_ms, now_ms, None, secret_hash(secret))
    await store.query(accounts.add_session, row)
    keep_s = max(services.settings.session_absolute_s, policy.lockout_s)  # older ones are over either way
    await store.query(accounts.forget_old, now_ms - int(keep_s * 1000))
    await audit(services, "login.ok", username, actor=actor(user.display_name, username), org_id=org_id,
                client=client, detail={"session": session_id})  # fmt: skip
    return LoggedIn(plain, row, user)
