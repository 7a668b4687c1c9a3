"""Sessions: ``fws_<id>_<secret>``, in an HttpOnly SameSite=Strict cookie or as a bearer token.

Only the secret's SHA-256 is stored (as for tokens). A session ends at logout, when its user is
disabled, after ``session_idle_s`` without a request, or ``session_absolute_s`` after login, whichever
comes first. Its last use is written at most once a minute, so reads do not each cost a write.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from central.store.account_records import Session, User

PREFIX = "fws"
SESSION_PATTERN = re.compile(rf"^{PREFIX}_([0-9a-f]{{24}})_([A-Za-z0-9_-]{{20,100}})$")
COOKIE = "fieldwatch_session"
TOUCH_EVERY_MS = 60_000


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle_s: float
    absolute_s: float


def make() -> tuple[str, str, str]:
    """``(plain token, session id, secret)``."""
    session_id, secret = secrets.token_hex(12), secrets.token_urlsafe(32)
    return f"{PREFIX}_{session_id}_{secret}", session_id, secret


def expires_ms(s: Session, policy: SessionPolicy) -> int:
    return min(s.seen_ms + int(policy.idle_s * 1000), s.created_ms + int(policy.absolute_s * 1000))


def why_ended(s: Session, user: User | None, now_ms: int, policy: SessionPolicy) -> str | None:
    """None while the session is good; else why not (for the 401's reason)."""
    if s.ended_ms is not None:
        return "the session has ended"
    if user is None or user.disabled_ms is not None:
        return "the session has ended"
    if now_ms >= expires_ms(s, policy):
        return "the session has expired"
    return None
