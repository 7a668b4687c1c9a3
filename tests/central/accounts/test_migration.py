"""Migration 0004 on a database made before it (both stores): sites and tokens join the county, and
existing tokens keep working and keep seeing everything."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlite_utils import Database

from central.auth import Authenticator, Role
from central.store.accounts import AccountStore
from central.store.postgres import PostgresStore
from central.store.postgres_schema import MIGRATIONS
from central.store.sql_store import SqlStore
from central.store.sqlite import SqliteStore
from central.store.sqlite_schema import migrations
from tests.central.builders import SITE, T0
from tests.central.client import add_token


def old_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> SqlStore:
    """A store whose database stops before 0004_accounts."""
    if kind == "sqlite":
        migrations.apply(Database(tmp_path / "old.db"), stop_before="0004_accounts")
        return SqliteStore(tmp_path / "old.db", threads=1)
    store = PostgresStore(request.getfixturevalue("pg_schema"), threads=1)
    saved = list(MIGRATIONS)
    MIGRATIONS[:] = [m for m in saved if m[0] < "0004"]
    try:
        store.migrate()
    finally:
        MIGRATIONS[:] = saved
    return store


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.service)])
def test_existing_sites_and_tokens_join_the_county(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = old_store(kind, tmp_path, request)
    try:
        with store._write() as db:  # a site as a gateway made it then (today's ingest needs today's schema)
            db.run(
                "INSERT INTO sites (id, name, type, updated_ms) VALUES (?, ?, ?, ?)",
                (SITE.id, "x", "other", T0),
            )
        plain = add_token(store, Role.OPERATOR, name="old shared token")
        assert store.migrate()[0] == "0004_accounts"  # (and the later ones)
        accounts = AccountStore(store)
        assert [(o.id, o.parent_id) for o in accounts.orgs()] == [("county", None)]
        assert accounts.site_org(SITE.id) == "county"
        who = asyncio.run(Authenticator(store, 0).principal(plain))
        assert (who.name, who.org_id, who.orgs) == ("old shared token", "county", None)
    finally:
        store.close()
