"""The outbox file: its pragmas and its schema, as a sqlite-utils migrations registry.

Tables:

- ``channels``: the outbox's own channel ids, mapped to channel KEYS, so a site file that changes between
  restarts never remaps old rows; ``meta_hash`` is the hash of the metadata last registered for the key
  and ``meta_acked_hash`` the one the central has acknowledged (metadata travels until they agree);
- ``reading_blocks``: the readings, a block of up to 1024 per row, each reading with its own seq
  (``blocks``); until migration ``0002_reading_blocks`` they were rows of ``readings`` (seq, channel id,
  ts_ms, value, quality), a row per reading;
- ``events``: seq, the channel key as text (device-level and combined-rule events have keys that are not
  measured channels), and the event's fields; ``detail`` (migration ``0004_event_detail``) holds what
  fired as JSON (``protocols.event_fields``);
- ``meta``: one row per name: ``next_seq`` (written in the same transaction as the rows it numbers, so a
  seq never repeats across crashes), ``thinned_through``, the boot counter, the last ack ...;
- ``drops``: rows evicted, by reason (``thinned_budget``, ``dropped_budget``, ``dropped_disk_full`` ...);
- ``dead_letters``: batches the central refused as malformed, with the payload and the reason;
- ``incarnations`` (migration ``0003_incarnations``): the file's lives, one started at every open, so the
  central can tell the rows of this file's runs from those of another file or of a restored copy
  (``lineage``). A file from before it gets the legacy incarnation (id ``""``) for the rows it holds.

WAL with ``synchronous`` FULL (default) or NORMAL; ``auto_vacuum=INCREMENTAL`` so pages freed by
evictions can be handed back to the file system when the disk is full.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from edge.outbox import blocks, lineage
from edge.outbox.transaction import immediate
from protocols.records import ReadingBlock
from protocols.sqlscript import statements

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


@migrations(name="0001_initial")
def initial(db: Database) -> None:
    for statement in statements(INITIAL):
        db.execute(statement)


MIGRATE_CHUNK_ROWS = 20_000


@migrations(name="0002_reading_blocks", transactional=False)
def reading_blocks(db: Database) -> None:
    """Move the readings from a row each to blocks (``blocks``), a chunk per transaction.

    Each chunk moves its rows and deletes them from ``readings`` in one transaction, so a crash (kill -9,
    a power cut) anywhere leaves every reading in exactly one of the two tables, and the next start goes
    on where this one stopped; the migration counts as applied only after ``readings`` is gone. Chunks
    keep the WAL small, so even an outbox that nearly fills its disk can be migrated.
    """
    conn = db.conn
    conn.execute(blocks.CREATE)
    if not db["readings"].exists():
        return
    while True:
        with immediate(conn):
            rows = conn.execute(
                "SELECT seq, channel, ts_ms, value, quality FROM readings ORDER BY seq LIMIT ?",
                (MIGRATE_CHUNK_ROWS,),
            ).fetchall()
            if rows:
                cols = list(zip(*rows, strict=True))
                values = np.array([np.nan if v is None else v for v in cols[3]], dtype=np.float64)
                seq = np.array(cols[0], dtype=np.int64)
                block = ReadingBlock.of(cols[1], cols[2], values, cols[4])
                blocks.insert(conn, seq, block, compress=True)  # the oldest readings there are
                conn.execute("DELETE FROM readings WHERE seq <= ?", (int(seq[-1]),))
            else:
                conn.execute("DROP TABLE readings")
        if not rows:
            return


@migrations(name="0003_incarnations")
def incarnations(db: Database) -> None:
    """The incarnations table; a file that has numbered rows already gets the legacy incarnation for them
    (sent without an incarnation before, so they must keep being sent as the legacy one). It counts as
    acknowledged: a central that has this gateway's rows knows it."""
    db.execute(lineage.CREATE)


@migrations(name="0004_event_detail")
def event_detail(db: Database) -> None:
    """The events' structured fields (``protocols.event_fields``) as a JSON text; NULL for older rows."""
    db.execute("ALTER TABLE events ADD COLUMN detail TEXT")
    next_seq = int(db.execute("SELECT value FROM meta WHERE name = 'next_seq'").fetchone()[0])
    if next_seq > 1:
        db.execute(
            "INSERT INTO incarnations (id, first_seq, parent, created_ms, acked) VALUES ('', 1, NULL, 0, 1)"
        )


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
