"""The outbox's incarnations (``protocols.incarnations``): one is started at every open, and each row
belongs to the one it was numbered in.

Table ``incarnations`` (migration ``0003_incarnations``): ``n`` (file order), ``id`` (32 random hex
digits; ``""`` for the legacy incarnation of a file from before incarnations), ``first_seq`` (the seq the
open started numbering at: ``meta.next_seq`` then), ``parent`` (the incarnation current before it; NULL
for a new file), ``acked`` (the central has acknowledged a batch that listed it).

``start`` runs in the open's transaction, before any row of the new run is numbered: it adds the new
incarnation and forgets those that own no row any more. One the central has seen may simply go (the
central keeps it); one it has never seen is cut out of the chain (its child takes its parent), which is
exact because no row of it was ever sent. ``Lineage`` is the in-memory copy the batch builder reads (on
a worker thread) and the forwarder updates when an ack comes.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from protocols.incarnations import Incarnation, owners

CREATE = """
CREATE TABLE IF NOT EXISTS incarnations (
    n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, first_seq INTEGER NOT NULL, parent TEXT,
    created_ms INTEGER NOT NULL, acked INTEGER NOT NULL DEFAULT 0
)
"""
MAX_UNACKED_LISTED = 256  # unacknowledged incarnations one batch lists besides its rows' own


@dataclass(frozen=True, slots=True)
class Entry:
    n: int
    incarnation: Incarnation
    acked: bool


def new_id() -> str:
    return os.urandom(16).hex()


def load(conn: sqlite3.Connection) -> list[Entry]:
    rows = conn.execute("SELECT n, id, first_seq, parent, acked FROM incarnations ORDER BY n").fetchall()
    return [Entry(n, Incarnation(i, first, parent), bool(acked)) for n, i, first, parent, acked in rows]


def start(conn: sqlite3.Connection, next_seq: int, now_ms: int) -> list[Entry]:
    """Start a new incarnation at ``next_seq`` (inside the caller's transaction); all entries after it."""
    entries = load(conn)
    parent = entries[-1].incarnation.id if entries else None
    conn.execute(
        "INSERT INTO incarnations (id, first_seq, parent, created_ms) VALUES (?, ?, ?, ?)",
        (new_id(), next_seq, parent, now_ms),
    )
    _forget_empty(conn, load(conn))
    return load(conn)


def _forget_empty(conn: sqlite3.Connection, entries: list[Entry]) -> None:
    """Delete every incarnation but the last that owns no row; the child of one never acked takes its
    parent (the central never heard of it, and none of its rows was sent)."""
    cut: dict[str, str | None] = {}  # incarnations cut out of the chain -> the parent their child takes

    def resolve(parent: str | None) -> str | None:
        while parent is not None and parent in cut:
            parent = cut[parent]
        return parent

    for entry, after in itertools.pairwise(entries):
        lo, hi = entry.incarnation.first_seq, after.incarnation.first_seq - 1
        if lo <= hi and _owns_rows(conn, lo, hi):
            continue
        conn.execute("DELETE FROM incarnations WHERE n = ?", (entry.n,))
        if not entry.acked:
            cut[entry.incarnation.id] = resolve(entry.incarnation.parent)
            conn.execute(
                "UPDATE incarnations SET parent = ? WHERE parent = ?",
                (cut[entry.incarnation.id], entry.incarnation.id),
            )


def _owns_rows(conn: sqlite3.Connection, lo: int, hi: int) -> bool:
    found = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM events WHERE seq BETWEEN ? AND ?) OR EXISTS (SELECT 1 FROM "
        "reading_blocks WHERE id <= ? AND last_seq >= ? AND first_seq <= ?)",
        (lo, hi, hi, lo, hi),
    ).fetchone()
    return bool(found[0])


def mark_acked(conn: sqlite3.Connection, ids: list[str]) -> None:
    conn.executemany("UPDATE incarnations SET acked = 1 WHERE id = ? AND acked = 0", [(i,) for i in ids])


class Lineage:
    """The incarnations in memory, in file order; the last is the current one (this run's)."""

    def __init__(self, entries: list[Entry]) -> None:
        self._entries = entries
        self._lock = threading.Lock()

    @property
    def current(self) -> Incarnation:
        return self._entries[-1].incarnation

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def listed(self, seqs: npt.NDArray[np.int64]) -> list[Incarnation]:
        """What a batch with these seqs lists: their incarnations, those not acknowledged yet (the oldest
        ``MAX_UNACKED_LISTED``), and the current one, in file order."""
        with self._lock:
            entries = self._entries
        wanted = np.zeros(len(entries), dtype=bool)
        if len(seqs):
            owned = np.unique(owners([e.incarnation for e in entries], seqs))
            wanted[owned[owned >= 0]] = True
        unacked = [i for i, e in enumerate(entries) if not e.acked][:MAX_UNACKED_LISTED]
        wanted[unacked] = True
        wanted[-1] = True
        return [e.incarnation for e, w in zip(entries, wanted, strict=True) if w]

    def acknowledged(self, ids: list[str]) -> None:
        gone = set(ids)
        with self._lock:
            self._entries = [replace(e, acked=True) if e.incarnation.id in gone else e for e in self._entries]
