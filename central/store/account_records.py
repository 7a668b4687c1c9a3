"""What the account store returns: organizations, users, sessions, login failures, audit entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Org:
    id: str
    name: str
    parent_id: str | None  # None: the top of the tree (the county bureau)
    created_ms: int


@dataclass(frozen=True, slots=True)
class User:
    username: str
    display_name: str
    org_id: str
    role: str  # viewer | operator | admin
    created_ms: int
    disabled_ms: int | None
    password_hash: str = field(repr=False, default="")


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    username: str
    client: str
    created_ms: int
    seen_ms: int
    ended_ms: int | None
    secret_hash: str = field(repr=False, default="")


@dataclass(frozen=True, slots=True)
class LoginFailures:
    subject: str  # "user:<name>" or "client:<address>"
    failures: int
    last_ms: int
    locked_until_ms: int | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    ts_ms: int
    org_id: str  # the organization whose admins may read it
    actor: str  # "display name (username)", a token's name, or "central"
    kind: str  # login.ok, login.failed, logout, user.create, site.assign, alarm.acknowledge ...
    target: str
    client: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    orgs: tuple[str, ...] | None = None  # None: every organization
    since_ms: int | None = None
    until_ms: int | None = None
    actor: str | None = None
    kind: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Visible:
    """What an organization's subtree may see: its sites and the gateways attached to them."""

    sites: frozenset[str]
    gateways: frozenset[str]
