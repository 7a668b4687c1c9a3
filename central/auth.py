"""Bearer tokens with roles: only a hash is stored, and the check takes constant time.

A token reads ``fwt_<id>_<secret>``: the id finds the stored row, the secret's SHA-256 is compared with the
stored hash by ``hmac.compare_digest``. The plain token is shown once, when it is made, and never logged
(the id alone names it in logs and in the token list).

Roles: a ``gateway`` token ingests batches of its own gateway id only; a ``viewer`` reads; an
``operator`` also acknowledges and closes alarms; an ``admin`` does all that, manages tokens and sites,
and may ingest for any gateway (replays, tooling).

Checked tokens are cached for ``token_cache_s`` seconds, so the hot ingest path does not read the
database per request; revoking a token therefore takes up to that long to bite in other processes (the
process that revokes it forgets it at once).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

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
    """Who is calling: the token's id, name (the "who" of timelines), role and gateway."""

    token_id: str
    name: str
    role: Role
    gateway_id: str | None

    def may_ingest(self, gateway_id: str) -> bool:
        return self.role is Role.ADMIN or (self.role is Role.GATEWAY and self.gateway_id == gateway_id)


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


class Authenticator:
    def __init__(self, store: Store, cache_s: float) -> None:
        self.store = store
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, Token | None]] = {}
        self.counters = {"accepted": 0, "refused": 0, "lookups": 0}

    async def principal(self, presented: str) -> Principal:
        """The caller behind a bearer token; ``AuthError`` with a reason that never echoes the token."""
        m = TOKEN_PATTERN.match(presented)
        if m is None:
            self.counters["refused"] += 1
            raise AuthError("malformed token")
        token_id, secret = m.group(1), m.group(2)
        row = await self._row(token_id)
        # compare even when the row is missing, so a miss and a wrong secret take the same time
        stored = row.secret_hash if row is not None else "0" * 64
        if not hmac.compare_digest(secret_hash(secret), stored) or row is None or row.revoked_ms is not None:
            self.counters["refused"] += 1
            raise AuthError("unknown or revoked token")
        self.counters["accepted"] += 1
        return Principal(row.id, row.name, Role(row.role), row.gateway_id)

    async def _row(self, token_id: str) -> Token | None:
        now = time.monotonic()
        cached = self._cache.get(token_id)
        if cached is not None and now - cached[0] < self.cache_s:
            return cached[1]
        self.counters["lookups"] += 1
        row = await self.store.query(self.store.token, token_id)
        if len(self._cache) > 10_000:  # bounded: a flood of made-up ids cannot grow it forever
            self._cache.clear()
        self._cache[token_id] = (now, row)
        return row

    def forget(self, token_id: str) -> None:
        self._cache.pop(token_id, None)

    def statistics(self) -> dict[str, int]:
        return dict(self.counters)
