"""Bearer tokens with roles: only a hash is stored, and the check takes constant time.

A token reads ``fwt_<id>_<secret>``: the id finds the stored row, the secret's SHA-256 is compared with the
stored hash by ``hmac.compare_digest``. The plain token is shown once, when it is made, and never logged
(the id alone names it in logs and in the token list).

Roles: a ``gateway`` token ingests batches of its own gateway id only; a ``viewer`` reads; an
``operator`` also acknowledges and closes alarms; an ``admin`` does all that, manages tokens and sites,
and may ingest for any gateway (replays, tooling).

Checked tokens are cached for ``token_cache_s`` seconds, so the hot ingest path does not read the
database per request; revoking a token therefore takes up to that long to bite in other processes (the
process that revokes it forgets it at once). A token belongs to an organization and may expire.

A person logs in (``central.accounts``) and gets a session ``fws_<id>_<secret>``, checked here too but
never cached: a logout or a disabled user ends it at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from central.accounts import sessions
from central.accounts.orgs import OrgTree
from central.accounts.users import actor
from central.store.account_records import Org
from central.store.accounts import AccountStore
from central.store.accounts_schema import TOP_ORG
from central.store.base import Store
from central.store.records import Token

PREFIX = "fwt"
TOKEN_PATTERN = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{20,100}})$")


class Role(StrEnum):
    GATEWAY = "gateway"
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


READERS = frozenset({Role.VIEWER, Role.OPERATOR, Role.ADMIN})
OPERATORS = frozenset({Role.OPERATOR, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})


class AuthError(Exception):
    """No usable token (401)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's (or session's) id, the "who" of timelines (a token's name, or a
    person's "display name (username)"), role, gateway, and organization with what it sees."""

    token_id: str
    name: str
    role: Role
    gateway_id: str | None
    org_id: str = TOP_ORG
    orgs: tuple[str, ...] | None = None  # the organization's subtree; None: the top one, everything
    username: str | None = None
    display_name: str | None = None

    def may_ingest(self, gateway_id: str) -> bool:
        """A gateway for itself; an admin of the top organization for any (an enterprise's admin: none)."""
        top_admin = self.role is Role.ADMIN and self.orgs is None
        return top_admin or (self.role is Role.GATEWAY and self.gateway_id == gateway_id)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token(role: Role, name: str, gateway_id: str | None, now_ms: int) -> tuple[str, Token]:
    """``(plain token, row to store)``. A gateway token needs its gateway id; other roles have none."""
    if (role is Role.GATEWAY) != (gateway_id is not None):
        raise ValueError("a gateway token needs --gateway ID, and only a gateway token has one")
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = Token(
        token_id,
        name or f"{role.value}-{token_id}",
        role.value,
        gateway_id,
        now_ms,
        None,
        secret_hash(secret),
    )
    return f"{PREFIX}_{token_id}_{secret}", row


TokenAccount = tuple[str, int | None]  # (organization, expires_ms)


class Authenticator:
    def __init__(
        self,
        store: Store,
        cache_s: float,
        *,
        session_policy: sessions.SessionPolicy | None = None,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.store = store
        self.accounts = AccountStore(store)
        self.cache_s = cache_s
        self.session_policy = session_policy or sessions.SessionPolicy(1800.0, 43200.0)
        self.clock_ms = clock_ms
        self._cache: dict[str, tuple[float, Token | None, TokenAccount | None]] = {}
        self._tree: tuple[float, OrgTree] | None = None
        self.counters = {"accepted": 0, "refused": 0, "lookups": 0}

    async def tree(self) -> OrgTree:
        """The organization tree, cached like tokens (``forget_orgs`` after a change)."""
        now = time.monotonic()
        if self._tree is None or now - self._tree[0] >= self.cache_s:
            orgs: list[Org] = await self.store.query(self.accounts.orgs)
            self._tree = (now, OrgTree(orgs))
        return self._tree[1]

    def forget_orgs(self) -> None:
        self._tree = None

    async def principal(self, presented: str) -> Principal:
        """The caller behind a bearer token or session; ``AuthError`` with a reason that never echoes it."""
        if presented.startswith(sessions.PREFIX + "_"):
            return await self._person(presented)
        m = TOKEN_PATTERN.match(presented)
        if m is None:
            self.counters["refused"] += 1
            raise AuthError("malformed token")
        token_id, secret = m.group(1), m.group(2)
        row, account = await self._row(token_id)
        # compare even when the row is missing, so a miss and a wrong secret take the same time
        stored = row.secret_hash if row is not None else "0" * 64
        if not hmac.compare_digest(secret_hash(secret), stored) or row is None or row.revoked_ms is not None:
            self.counters["refused"] += 1
            raise AuthError("unknown or revoked token")
        org_id, expires_ms = account or (TOP_ORG, None)
        if expires_ms is not None and self.clock_ms() >= expires_ms:
            self.counters["refused"] += 1
            raise AuthError("the token has expired")
        self.counters["accepted"] += 1
        tree = await self.tree()
        return Principal(row.id, row.name, Role(row.role), row.gateway_id, org_id, tree.scope(org_id))

    async def _row(self, token_id: str) -> tuple[Token | None, TokenAccount | None]:
        now = time.monotonic()
        cached = self._cache.get(token_id)
        if cached is not None and now - cached[0] < self.cache_s:
            return cached[1], cached[2]
        self.counters["lookups"] += 1
        row = await self.store.query(self.store.token, token_id)
        account = await self.store.query(self.accounts.token_account, token_id) if row else None
        if len(self._cache) > 10_000:  # bounded: a flood of made-up ids cannot grow it forever
            self._cache.clear()
        self._cache[token_id] = (now, row, account)
        return row, account

    async def _person(self, presented: str) -> Principal:
        m = sessions.SESSION_PATTERN.match(presented)
        if m is None:
            self.counters["refused"] += 1
            raise AuthError("malformed session")
        session_id, secret = m.group(1), m.group(2)
        found = await self.store.query(self.accounts.session, session_id)
        stored = found.secret_hash if found is not None else "0" * 64
        if not hmac.compare_digest(secret_hash(secret), stored) or found is None:
            self.counters["refused"] += 1
            raise AuthError("unknown session")
        user = await self.store.query(self.accounts.user, found.username)
        now_ms = self.clock_ms()
        why = sessions.why_ended(found, user, now_ms, self.session_policy)
        if why is not None or user is None:
            self.counters["refused"] += 1
            raise AuthError(why or "the session has ended")
        if now_ms - found.seen_ms >= sessions.TOUCH_EVERY_MS:
            await self.store.query(self.accounts.touch_session, session_id, now_ms)
        self.counters["accepted"] += 1
        tree = await self.tree()
        return Principal(
            session_id, actor(user.display_name, user.username), Role(user.role), None, user.org_id,
            tree.scope(user.org_id), user.username, user.display_name,
        )  # fmt: skip

    def forget(self, token_id: str) -> None:
        self._cache.pop(token_id, None)

    def statistics(self) -> dict[str, int]:
        return dict(self.counters)
