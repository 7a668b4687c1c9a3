"""The account store: ``central.store.accounts_sql`` run on a SQL store's threads and connections.

A separate object beside the ``Store`` (``Services.accounts``): reads use the calling thread's
connection, writes one transaction each, like the store's own methods. Call them through
``await store.query(accounts.method, ...)`` from requests.
"""

from __future__ import annotations

from central.store import accounts_sql as sql
from central.store.account_records import (
    AuditEntry,
    AuditFilter,
    LoginFailures,
    Org,
    Session,
    User,
    Visible,
)
from central.store.base import Store
from central.store.sql_store import SqlStore


class AccountStore:
    def __init__(self, store: Store) -> None:
        assert isinstance(store, SqlStore)
        self.store = store

    # organizations and sites
    def add_org(self, org: Org) -> None:
        with self.store._write() as db:
            sql.add_org(db, org)

    def orgs(self) -> list[Org]:
        return sql.orgs(self.store._db())

    def assign_site(self, site_id: str, org_id: str) -> None:
        with self.store._write() as db:
            sql.assign_site(db, site_id, org_id)

    def site_org(self, site_id: str) -> str | None:
        return sql.site_org(self.store._db(), site_id)

    def visible(self, org_ids: tuple[str, ...]) -> Visible:
        return sql.visible(self.store._db(), org_ids)

    def token_orgs(self) -> dict[str, tuple[str, int | None]]:
        return sql.token_orgs(self.store._db())

    def token_account(self, token_id: str) -> tuple[str, int | None] | None:
        return sql.token_account(self.store._db(), token_id)

    def set_token_account(self, token_id: str, org_id: str, expires_ms: int | None) -> None:
        with self.store._write() as db:
            sql.set_token_account(db, token_id, org_id, expires_ms)

    # users
    def add_user(self, user: User) -> None:
        with self.store._write() as db:
            sql.add_user(db, user)

    def user(self, username: str) -> User | None:
        return sql.user(self.store._db(), username)

    def users(self) -> list[User]:
        return sql.users(self.store._db())

    def set_password(self, username: str, password_hash: str) -> None:
        with self.store._write() as db:
            sql.set_password(db, username, password_hash)

    def disable_user(self, username: str, now_ms: int) -> None:
        with self.store._write() as db:
            sql.disable_user(db, username, now_ms)

    # sessions
    def add_session(self, session: Session) -> None:
        with self.store._write() as db:
            sql.add_session(db, session)

    def session(self, session_id: str) -> Session | None:
        return sql.session(self.store._db(), session_id)

    def touch_session(self, session_id: str, now_ms: int) -> None:
        with self.store._write() as db:
            sql.touch_session(db, session_id, now_ms)

    def end_session(self, session_id: str, now_ms: int) -> None:
        with self.store._write() as db:
            sql.end_session(db, session_id, now_ms)

    # login failures
    def failures(self, subject: str) -> LoginFailures | None:
        return sql.failures(self.store._db(), subject)

    def put_failures(self, failures: LoginFailures) -> None:
        with self.store._write() as db:
            sql.put_failures(db, failures)

    def forget_old(self, before_ms: int) -> None:
        with self.store._write() as db:
            sql.forget_old(db, before_ms)

    def clear_failures(self, subject: str) -> bool:
        with self.store._write() as db:
            return sql.clear_failures(db, subject)

    def locked(self, now_ms: int) -> list[LoginFailures]:
        return sql.locked(self.store._db(), now_ms)

    # audit
    def append_audit(self, entry: AuditEntry) -> None:
        with self.store._write() as db:
            sql.append_audit(db, entry)

    def audit(self, where: AuditFilter) -> tuple[list[AuditEntry], int]:
        return sql.audit(self.store._db(), where)
