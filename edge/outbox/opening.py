"""Opening the outbox file: check it, create or migrate it, register the site's channels and count the
boot; a corrupt file is moved aside and what still reads of it salvaged into a new one (``salvage``).
``Outbox.open`` calls ``open_file``, then ``recover`` if the file was corrupt.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge.outbox import lineage, salvage, schema
from edge.outbox.transaction import immediate
from protocols.wire import ChannelMeta, SiteMeta


def meta_hash(meta: ChannelMeta | SiteMeta) -> str:
    """A short, stable hash of metadata: when it changes, the metadata is sent again."""
    return hashlib.sha256(repr(meta).encode()).hexdigest()[:16]


def set_meta(conn: sqlite3.Connection, values: dict[str, Any]) -> None:
    conn.executemany(
        "INSERT INTO meta (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        list(values.items()),
    )


def open_file(
    path: Path, synchronous: str, channels: Sequence[ChannelMeta]
) -> tuple[sqlite3.Connection, np.ndarray, int, list[lineage.Entry]]:
    """Check, create or migrate, connect, register: the file as it is (``sqlite3.DatabaseError`` with
    SQLITE_CORRUPT or SQLITE_NOTADB when it is corrupt)."""
    problem = salvage.check(path)
    if problem is not None:
        error = sqlite3.DatabaseError(problem)
        error.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
        raise error
    schema.create_or_migrate(path, synchronous)
    conn = schema.connect(path, synchronous)
    try:
        return (conn, *_register(conn, channels))
    except BaseException:
        conn.close()
        raise


def recover(
    path: Path, synchronous: str, channels: Sequence[ChannelMeta], report: salvage.Report
) -> tuple[sqlite3.Connection, np.ndarray, int, list[lineage.Entry]]:
    """Move the corrupt file aside, salvage what reads of it into a new one, and open that."""
    moved = salvage.move_aside(path)
    report.moved_to = str(moved)
    schema.create_or_migrate(path, synchronous)
    conn = schema.connect(path, synchronous)
    try:
        salvage.salvage(moved, conn, report)
        set_meta(
            conn,
            {"corrupt_moved_to": str(moved), "corrupt_at_ms": time.time_ns() // 1_000_000,
             "corrupt_message": report.message()},
        )  # fmt: skip
        return (conn, *_register(conn, channels))
    except BaseException:
        conn.close()
        raise


def _register(
    conn: sqlite3.Connection, channels: Sequence[ChannelMeta]
) -> tuple[np.ndarray, int, list[lineage.Entry]]:
    """Give every key an outbox id (once, forever), store its metadata hash, count the boot, and start
    this run's incarnation (before any row of the run is numbered)."""
    with immediate(conn):
        conn.executemany("INSERT OR IGNORE INTO channels (key) VALUES (?)", [(c.key,) for c in channels])
        conn.executemany(
            "UPDATE channels SET meta_hash = ? WHERE key = ?", [(meta_hash(c), c.key) for c in channels]
        )
        ids = dict(conn.execute("SELECT key, id FROM channels").fetchall())
        conn.execute("UPDATE meta SET value = value + 1 WHERE name = 'boots'")
        boots = int(conn.execute("SELECT value FROM meta WHERE name = 'boots'").fetchone()[0])
        next_seq = int(conn.execute("SELECT value FROM meta WHERE name = 'next_seq'").fetchone()[0])
        entries = lineage.start(conn, next_seq, time.time_ns() // 1_000_000)
    return np.array([ids[c.key] for c in channels], dtype=np.int64), boots, entries
