"""The outbox file: its pragmas and its schema, as a sqlite-utils migrations registry.

Tables:

- ``channels``: the outbox's own channel ids, mapped to channel KEYS, so a site file that changes between
  restarts never remaps old rows; ``meta_hash`` is the hash of the metadata last registered for the key
  and ``meta_acked_hash`` the one the central has acknowledged (metadata travels until they agree);
- ``readings``: ``seq INTEGER PRIMARY KEY`` (the rowid: appends go to the end of the B-tree), the channel
  id, ts_ms, value (NULL for NaN) and quality;
- ``events``: seq, the channel key as text (device-level and combined-rule events have keys that are not
  measured channels), and the event's fields;
- ``meta``: one row per name: ``next_seq`` (written in the same transaction as the rows it numbers, so a
  seq never repeats across crashes), ``thinned_through``, the boot counter, the last ack ...;
- ``drops``: rows evicted, by reason (``thinned_budget``, ``dropped_budget``, ``dropped_disk_full`` ...);
- ``dead_letters``: batches the central refused as malformed, with the payload and the reason.

WAL with ``synchronous`` FULL (default) or NORMAL; ``auto_vacuum=INCREMENTAL`` so pages freed by
evictions can be handed back to the file system when the disk is full.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("fieldwatch-edge-outbox")

INITIAL = """
CREATE TABLE channels (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, meta_hash TEXT NOT NULL DEFAULT '',
    meta_acked_hash TEXT NOT NULL DEFAULT ''
);
CREATE TABLE readings (
    seq INTEGER PRIMARY KEY, channel INTEGER NOT NULL, ts_ms INTEGER NOT NULL, value REAL,
    quality INTEGER NOT NULL
);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY, channel TEXT NOT NULL, ts_ms INTEGER NOT NULL, rule TEXT NOT NULL,
    level INTEGER NOT NULL, previous_level INTEGER NOT NULL, value REAL, message TEXT NOT NULL,
    failure_ts_ms INTEGER, r2 REAL, points INTEGER
);
CREATE TABLE meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE drops (reason TEXT PRIMARY KEY, rows INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL, batch_id INTEGER NOT NULL, error TEXT NOT NULL,
    seq_ranges TEXT NOT NULL, rows INTEGER NOT NULL, payload BLOB NOT NULL
);
INSERT INTO meta (name, value) VALUES ('next_seq', 1), ('thinned_through', 0), ('boots', 0)
"""


def statements(script: str) -> list[str]:
    """One statement at a time inside the migration's transaction (``executescript`` would commit)."""
    return [s.strip() for s in script.split(";") if s.strip()]


@migrations(name="0001_initial")
def initial(db: Database) -> None:
    for statement in statements(INITIAL):
        db.execute(statement)


def connect(path: Path, synchronous: str = "FULL", *, timeout_s: float = 30.0) -> sqlite3.Connection:
    """A connection in autocommit mode (we write BEGIN/COMMIT ourselves) with the outbox's pragmas."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout_s)
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def create_or_migrate(path: Path, synchronous: str = "FULL") -> list[str]:
    """Create the file (WAL, incremental auto-vacuum) or bring its schema up to date; the migrations run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path, synchronous)
    try:
        if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only before the first table exists
        conn.execute("PRAGMA journal_mode = WAL")
        db = Database(conn)
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
        return pending
    finally:
        conn.close()
