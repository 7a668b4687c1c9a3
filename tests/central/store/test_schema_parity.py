"""The two stores' schemas, written twice under two migration systems, have the same tables and columns.

Both are migrated from scratch; the only differences allowed are listed in ``ALLOWED`` with their reason.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from central.store.postgres import PostgresStore
from central.store.sqlite import SqliteStore

pytestmark = pytest.mark.service

BOOKKEEPING = {"_sqlite_migrations", "schema_migrations"}  # each migration system's own record
ALLOWED = {
    # SQLite's readings are keyed (channel_id, ts_ms, seq, epoch) so a replaced outbox's rows may share
    # (channel, time, seq); PostgreSQL's readings have no unique key (the ledger keeps repeats out).
    ("readings", "epoch"),
}


def sqlite_columns(path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {(t, row[1]) for t in tables for row in conn.execute(f'PRAGMA table_info("{t}")')}


def postgres_columns(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        ).fetchall()
    return {(str(t), str(c)) for t, c in rows}


def test_both_stores_have_the_same_tables_and_columns(pg_schema: str, tmp_path: Path) -> None:
    lite = SqliteStore(tmp_path / "central.db", threads=1)
    pg = PostgresStore(pg_schema, threads=1)
    try:
        lite.migrate()
        pg.migrate()
    finally:
        lite.close()
        pg.close()
    ours = {(t, c) for t, c in sqlite_columns(tmp_path / "central.db") if t not in BOOKKEEPING}
    theirs = {(t, c) for t, c in postgres_columns(pg_schema) if t not in BOOKKEEPING}
    assert {t for t, _ in ours} == {t for t, _ in theirs}
    assert sorted(ours - theirs - ALLOWED) == [], "only in SQLite"
    assert sorted(theirs - ours - ALLOWED) == [], "only in PostgreSQL"
    assert ours ^ theirs >= ALLOWED, "an allowed difference is gone: take it off ALLOWED"
