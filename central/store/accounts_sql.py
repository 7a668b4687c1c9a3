"""Accounts in SQL both stores understand: organizations, users, sessions, login failures, audit, scope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from central.store.account_records import (
    AuditEntry,
    AuditFilter,
    LoginFailures,
    Org,
    Session,
    User,
    Visible,
)
from central.store.base import NotFoundError

if TYPE_CHECKING:
    from central.store.handle import Db


def _marks(values: tuple[str, ...] | frozenset[str]) -> str:
    return ", ".join("?" * len(values))


# ---------------------------------------------------------------- organizations


def add_org(db: Db, org: Org) -> None:
    db.run(
        "INSERT INTO orgs (id, name, parent_id, created_ms) VALUES (?, ?, ?, ?)",
        (org.id, org.name, org.parent_id, org.created_ms),
    )


def orgs(db: Db) -> list[Org]:
    return [Org(**r) for r in db.named("SELECT id, name, parent_id, created_ms FROM orgs ORDER BY id")]


def assign_site(db: Db, site_id: str, org_id: str) -> None:
    if db.run("UPDATE sites SET org_id = ? WHERE id = ?", (org_id, site_id)) == 0:
        raise NotFoundError(f"no site {site_id}")


def site_org(db: Db, site_id: str) -> str | None:
    row = db.one("SELECT org_id FROM sites WHERE id = ?", (site_id,))
    return None if row is None else str(row[0])


def visible(db: Db, org_ids: tuple[str, ...]) -> Visible:
    """The sites of these organizations and the gateways attached to them."""
    marks = _marks(org_ids)
    sites = {str(r[0]) for r in db.all(f"SELECT id FROM sites WHERE org_id IN ({marks})", org_ids)}  # noqa: S608
    gateways = {
        str(r[0])
        for r in db.all(
            f"SELECT g.id FROM gateways g JOIN sites s ON s.id = g.site_id WHERE s.org_id IN ({marks})",  # noqa: S608
            org_ids,
        )
    }
    return Visible(frozenset(sites), frozenset(gateways))


def token_orgs(db: Db) -> dict[str, tuple[str, int | None]]:
    """token id -> (organization, expires_ms)."""
    return {str(r[0]): (str(r[1]), r[2]) for r in db.all("SELECT id, org_id, expires_ms FROM tokens")}


def token_account(db: Db, token_id: str) -> tuple[str, int | None] | None:
    row = db.one("SELECT org_id, expires_ms FROM tokens WHERE id = ?", (token_id,))
    return None if row is None else (str(row[0]), row[1])


def set_token_account(db: Db, token_id: str, org_id: str, expires_ms: int | None) -> None:
    db.run("UPDATE tokens SET org_id = ?, expires_ms = ? WHERE id = ?", (org_id, expires_ms, token_id))


# ---------------------------------------------------------------- users

USER_SELECT = "SELECT username, display_name, org_id, role, created_ms, disabled_ms, password_hash FROM users"


def add_user(db: Db, user: User) -> None:
    db.run(
        "INSERT INTO users (username, display_name, org_id, role, password_hash, created_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (user.username, user.display_name, user.org_id, user.role, user.password_hash, user.created_ms),
    )


def user(db: Db, username: str) -> User | None:
    found = db.named(f"{USER_SELECT} WHERE username = ?", (username,))
    return User(**found[0]) if found else None


def users(db: Db) -> list[User]:
    return [User(**r) for r in db.named(f"{USER_SELECT} ORDER BY username")]


def set_password(db: Db, username: str, password_hash: str) -> None:
    if db.run("UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username)) == 0:
        raise NotFoundError(f"no user {username}")


def disable_user(db: Db, username: str, now_ms: int) -> None:
    """The user can no longer log in, and every session of theirs ends now."""
    if db.run("UPDATE users SET disabled_ms = ? WHERE username = ? AND disabled_ms IS NULL",
              (now_ms, username)) == 0 and user(db, username) is None:  # fmt: skip
        raise NotFoundError(f"no user {username}")
    db.run("UPDATE sessions SET ended_ms = ? WHERE username = ? AND ended_ms IS NULL", (now_ms, username))


# ---------------------------------------------------------------- sessions

SESSION_SELECT = "SELECT id, username, client, created_ms, seen_ms, ended_ms, secret_hash FROM sessions"


def add_session(db: Db, s: Session) -> None:
    db.run(
        "INSERT INTO sessions (id, username, secret_hash, client, created_ms, seen_ms) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (s.id, s.username, s.secret_hash, s.client, s.created_ms, s.seen_ms),
    )


def session(db: Db, session_id: str) -> Session | None:
    found = db.named(f"{SESSION_SELECT} WHERE id = ?", (session_id,))
    return Session(**found[0]) if found else None


def touch_session(db: Db, session_id: str, now_ms: int) -> None:
    db.run("UPDATE sessions SET seen_ms = ? WHERE id = ? AND seen_ms < ?", (now_ms, session_id, now_ms))


def end_session(db: Db, session_id: str, now_ms: int) -> None:
    db.run("UPDATE sessions SET ended_ms = ? WHERE id = ? AND ended_ms IS NULL", (now_ms, session_id))


# ---------------------------------------------------------------- login failures


FAILURES_SELECT = "SELECT subject, failures, last_ms, locked_until_ms FROM login_failures"


def failures(db: Db, subject: str) -> LoginFailures | None:
    found = db.named(f"{FAILURES_SELECT} WHERE subject = ?", (subject,))
    return LoginFailures(**found[0]) if found else None


def put_failures(db: Db, f: LoginFailures) -> None:
    db.run(
        "INSERT INTO login_failures (subject, failures, last_ms, locked_until_ms) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures, last_ms = excluded.last_ms, "
        "locked_until_ms = excluded.locked_until_ms",
        (f.subject, f.failures, f.last_ms, f.locked_until_ms),
    )


def forget_old(db: Db, before_ms: int) -> None:
    """Sessions that ended or went unused, and failure counts with no lock, both older than
    ``before_ms``: so the tables hold what is current, not every login there ever was."""
    db.run("DELETE FROM sessions WHERE coalesce(ended_ms, seen_ms) < ?", (before_ms,))
    db.run(
        "DELETE FROM login_failures WHERE last_ms < ? AND coalesce(locked_until_ms, 0) < ?",
        (before_ms, before_ms),
    )


def clear_failures(db: Db, subject: str) -> bool:
    return int(db.run("DELETE FROM login_failures WHERE subject = ?", (subject,))) > 0


def locked(db: Db, now_ms: int) -> list[LoginFailures]:
    rows = db.named(f"{FAILURES_SELECT} WHERE locked_until_ms > ? ORDER BY subject", (now_ms,))
    return [LoginFailures(**r) for r in rows]


# ---------------------------------------------------------------- audit


def append_audit(db: Db, e: AuditEntry) -> None:
    db.run(
        "INSERT INTO audit (ts_ms, org_id, actor, kind, target, client, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (e.ts_ms, e.org_id, e.actor, e.kind, e.target, e.client, orjson.dumps(e.detail).decode()),
    )


def audit(db: Db, where: AuditFilter) -> tuple[list[AuditEntry], int]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.orgs is not None:
        clauses.append(f"org_id IN ({_marks(where.orgs)})")
        params += list(where.orgs)
    for clause, value in (
        ("ts_ms >= ?", where.since_ms),
        ("ts_ms < ?", where.until_ms),
        ("actor = ?", where.actor),
        ("kind = ?", where.kind),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    sql_where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    total = db.one(f"SELECT count(*) FROM audit{sql_where}", params)  # noqa: S608
    rows = db.named(
        "SELECT id, ts_ms, org_id, actor, kind, target, client, detail FROM audit"  # noqa: S608
        f"{sql_where} ORDER BY id DESC LIMIT ? OFFSET ?",
        [*params, where.limit, where.offset],
    )
    entries = [AuditEntry(**{**r, "detail": orjson.loads(r["detail"])}) for r in rows]
    return entries, int(total[0]) if total else 0
