"""The outbox's byte budget: how much it uses, and what it gives up first when it must.

Use is the pages that hold data, ``(page_count - freelist_count) * page_size``, plus the WAL file. The
WAL is kept to ``wal_allowance`` by the ``journal_size_limit`` and ``wal_autocheckpoint`` pragmas, so
the pages get the rest: ``page_budget = max_bytes - wal_allowance``. Pages freed by a delete go to
SQLite's free list and are reused by the next inserts: the file does not shrink, it stops growing.

The disk may hold less than the budget (a small SD card, logs filling it). ``ByteBudget.limit`` also asks
the file system (``statvfs``) how much room is left: the room for pages is the file as it is (its free
pages are room: the next inserts reuse them), the WAL, and what the file system has free, less a reserve
of two WAL allowances (the WAL, and the pages a checkpoint may add to the file). The allowance is sized
from the budget or the disk, whichever is smaller: an eighth of it, 64 KiB to 4 MiB, so the reserve is
a quarter of a 2 MiB disk (the largest transaction the outbox makes, a thinning step, must fit in it).
When the room is smaller than the budget, the room is the budget, and evictions count under the
``*_disk_full`` reasons. A WAL that filled the disk could not be checkpointed (that needs room in the
file), and then nothing could be deleted either; the reserve keeps the outbox out of that corner, and
when the file system's free space falls below a WAL allowance while the file has free pages, ``reclaim``
hands some back (``PRAGMA incremental_vacuum``; the file is ``auto_vacuum=INCREMENTAL``). A real
``SQLITE_FULL`` (someone else filled the disk faster than we looked) is handled by the writer the same
way.

When the pages pass their budget, ``evict`` frees rows until they are back under ``LOW_WATER`` of it:

1. **thin**: the oldest readings not yet thinned (``seq`` after the ``thinned_through`` mark) and older
   than the protected tail lose all but every k-th row of each channel; the mark moves past them, so a
   row is thinned at most once;
2. **drop**: when nothing is left to thin, the oldest readings go, thinned or not, oldest first.

Events are never evicted. The newest quarter of the readings (the protected tail) is thinned never and
dropped last. Every evicted row is counted under a reason, persisted in the ``drops`` table in the same
transaction as the delete. Work is done in chunks of at most ``CHUNK_ROWS`` rows per transaction, so one
eviction never balloons the WAL.
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.outbox import blocks
from edge.outbox.blocks import StoredReadings
from edge.outbox.inflight import within
from edge.outbox.transaction import immediate

LOW_WATER = 0.95  # evict down to this fraction of the page budget, so eviction is not run every commit
CHUNK_ROWS = 20_000
MIN_THIN_WINDOW = 10_000  # rows per thinning window: enough for every channel to have k rows in it
MAX_ROUNDS = 200  # bounds one eviction; each round is one chunk
MIN_WAL_ALLOWANCE = 64 << 10
MAX_WAL_ALLOWANCE = 4 << 20
MAX_SEQ = (1 << 63) - 1
DISK_FULL_WAL_BYTES = 64 << 10  # after a full disk the WAL is checkpointed and truncated this early


def wal_allowance(max_bytes: int) -> int:
    """How much of the budget (or of a smaller disk) the WAL may hold between checkpoints: an eighth,
    within 64 KiB .. 4 MiB."""
    return max(MIN_WAL_ALLOWANCE, min(MAX_WAL_ALLOWANCE, max_bytes // 8))


class ByteBudget:
    """The pages' budget for one outbox file: the configured one, or less when the disk holds less."""

    def __init__(self, db_path: str, max_bytes: int) -> None:
        self.db_path = db_path
        self.folder = os.path.dirname(os.path.abspath(db_path))
        disk = os.statvfs(self.folder)
        self.wal_allowance = wal_allowance(min(max_bytes, disk.f_blocks * disk.f_frsize))
        self.reserve = 2 * self.wal_allowance
        self.page_budget = max(1, max_bytes - self.wal_allowance)
        self.current = self.page_budget
        self.disk_limited = False
        self.small_wal = False

    def configure(self, conn: sqlite3.Connection) -> None:
        """Keep the WAL within its allowance (checkpoint at it, truncate back to it)."""
        allowance = DISK_FULL_WAL_BYTES if self.small_wal else self.wal_allowance
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute(f"PRAGMA journal_size_limit = {allowance}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {max(16, allowance // page_size)}")

    def limit(self, used_page_bytes: int) -> int:
        """The pages' budget now: the configured one, or the room the disk has if that is less. The room
        is the file (its data pages, ``used_page_bytes``, and its free pages), the WAL and the free space of
        the file system, less the reserve."""
        disk = os.statvfs(self.folder)
        free_s = disk.f_bavail * disk.f_frsize
        room = (
            max(used_page_bytes, file_bytes(self.db_path)) + wal_bytes(self.db_path) + free_s - self.reserve
        )
        self.disk_limited = room < self.page_budget
        self.current = max(0, room) if self.disk_limited else self.page_budget
        return self.current

    def disk_full(self, conn: sqlite3.Connection, used_page_bytes: int) -> int:
        """SQLITE_FULL: from now on keep the WAL small, and free a step of what the pages use now.

        One step, not the room ``statvfs`` reports: that may be nothing at all when another program
        filled the disk, and the outbox must not throw everything away for it.
        """
        if not self.small_wal:
            self.small_wal = True
            self.configure(conn)
        self.current = int(used_page_bytes * LOW_WATER)
        self.disk_limited = True
        return self.current

    def reclaim(self, conn: sqlite3.Connection) -> int:
        """When the file system has less free than a WAL allowance, give free pages of the file back to it
        (``incremental_vacuum``; the file shrinks at the next checkpoint). The pages handed back."""
        disk = os.statvfs(self.folder)
        short = self.wal_allowance - disk.f_bavail * disk.f_frsize
        if short <= 0:
            return 0
        free_pages, page_size = conn.execute(
            "SELECT (SELECT freelist_count FROM pragma_freelist_count()), "
            "(SELECT page_size FROM pragma_page_size())"
        ).fetchone()
        pages = int(min(int(free_pages), math.ceil(short / page_size) + 1))
        if pages > 0:
            conn.execute(f"PRAGMA incremental_vacuum({pages})").fetchall()
        return pages


def file_bytes(db_path: str) -> int:
    try:
        return os.stat(db_path).st_size
    except FileNotFoundError:
        return 0


def page_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of pages that hold data (free-list pages excluded), as this connection sees them."""
    row = conn.execute(
        "SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM"
        " pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())"
    ).fetchone()
    return int(row[0] * row[1])


def wal_bytes(db_path: str) -> int:
    try:
        return os.stat(db_path + "-wal").st_size
    except FileNotFoundError:
        return 0


@dataclass(frozen=True, slots=True)
class Eviction:
    """What one eviction pass needs to know."""

    page_budget: int  # bytes the pages may use
    keep_every: int  # thinning keeps every k-th reading of each channel
    protect_after_seq: int  # readings after this seq are the protected tail
    thin_reason: str
    drop_reason: str
    chunk_rows: int = CHUNK_ROWS  # rows per transaction (smaller when the disk is full: less WAL)
    exempt: tuple[tuple[int, int], ...] = ()  # seq ranges in flight (``inflight``): never evicted


def evict(conn: sqlite3.Connection, plan: Eviction, reading_rows: int, drops: Counter[str]) -> int:
    """Thin, then drop, until the pages are under ``LOW_WATER`` of the budget; the rows removed.

    Runs its own transactions (the caller holds none). ``reading_rows`` is the current count of readings.
    """
    target = int(plan.page_budget * LOW_WATER)
    removed = 0
    for _ in range(MAX_ROUNDS):
        used = page_bytes(conn)
        if used <= target or reading_rows - removed <= 0:
            break
        per_row = max(1.0, used / max(1, reading_rows - removed))
        want = min(plan.chunk_rows, math.ceil((used - target) / per_row) + 1)
        with immediate(conn):
            n, reason = _thin(conn, plan, want), plan.thin_reason
            if n == 0:
                n, reason = _drop_oldest(conn, want, list(plan.exempt)), plan.drop_reason
            if n:
                count(conn, reason, n)
        if n == 0:
            break
        drops[reason] += n
        removed += n
    return removed


def _thin(conn: sqlite3.Connection, plan: Eviction, want: int) -> int:
    """Thin the oldest unthinned readings before the protected tail so that about ``want`` rows go.

    The window is the next ``window`` readings after the ``thinned_through`` mark (and not past the
    protected tail); in it, each channel keeps its 1st, (k+1)th, (2k+1)th ... reading in seq order.
    """
    mark = int(conn.execute("SELECT value FROM meta WHERE name = 'thinned_through'").fetchone()[0])
    if mark >= plan.protect_after_seq:
        return 0
    window = max(MIN_THIN_WINDOW, math.ceil(want * plan.keep_every / (plan.keep_every - 1)))
    loaded: list[tuple[blocks.Row, StoredReadings]] = []
    subject = 0
    rows = blocks.overlapping(conn, mark, plan.protect_after_seq)
    for row in rows:
        stored = blocks.load(conn, row)
        loaded.append((row, stored))
        subject += int(((stored.seq > mark) & (stored.seq <= plan.protect_after_seq)).sum())
        if subject >= window:
            break
    rows.close()  # before the rewrites below
    if not loaded:
        end = plan.protect_after_seq
    else:
        seq = np.concatenate([s.seq for _, s in loaded])
        in_window = seq[(seq > mark) & (seq <= plan.protect_after_seq)]
        end = int(in_window[window - 1]) if len(in_window) >= window else plan.protect_after_seq
    removed = 0
    if loaded:
        keep = _thinned(loaded, mark, end, plan.keep_every)
        if plan.exempt:
            keep |= within(np.concatenate([s.seq for _, s in loaded]), list(plan.exempt))
        at = 0
        for row, stored in loaded:
            removed += blocks.keep_only(conn, row, stored, keep[at : at + len(stored)], compress=True)
            at += len(stored)
    conn.execute("UPDATE meta SET value = ? WHERE name = 'thinned_through'", (end,))
    return removed


def _thinned(
    loaded: list[tuple[blocks.Row, StoredReadings]], mark: int, end: int, keep_every: int
) -> npt.NDArray[np.bool_]:
    """Which readings stay: all outside ``(mark, end]``, and every k-th of each channel inside it."""
    seq = np.concatenate([s.seq for _, s in loaded])
    channel = np.concatenate([s.block.channel for _, s in loaded])
    inside = np.flatnonzero((seq > mark) & (seq <= end))  # in seq order: blocks are, and so is each block
    order = inside[np.argsort(channel[inside], kind="stable")]  # by channel, seq order within each
    sorted_channels = channel[order]
    starts = np.flatnonzero(np.r_[True, sorted_channels[1:] != sorted_channels[:-1]])
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    keep = np.ones(len(seq), dtype=bool)
    keep[order[rank % keep_every != 0]] = False
    return keep


def _drop_oldest(conn: sqlite3.Connection, want: int, exempt: list[tuple[int, int]] | None = None) -> int:
    """Drop the ``want`` oldest readings (all there are, if fewer) that are not in ``exempt``."""
    exempt = exempt or []
    chosen: list[tuple[blocks.Row, bool]] = []  # the blocks to work on, oldest first; whether rows in flight
    enough = 0
    rows = blocks.overlapping(conn, 0, MAX_SEQ)
    for row in rows:
        touches = any(a <= row[2] and b >= row[1] for a, b in exempt)
        chosen.append((row, touches))
        enough += 0 if touches else row[3]
        if enough >= want:
            break
    rows.close()  # before the deletes below
    dropped = 0
    for row, touches in chosen:
        if dropped >= want:
            break
        if not touches and dropped + row[3] <= want:
            conn.execute("DELETE FROM reading_blocks WHERE id = ?", (row[0],))
            dropped += row[3]
            continue
        stored = blocks.load(conn, row)
        candidate = ~within(stored.seq, exempt)
        keep = ~candidate | (np.cumsum(candidate) > want - dropped)
        dropped += blocks.keep_only(conn, row, stored, keep, compress=True)
    return dropped


def count(conn: sqlite3.Connection, reason: str, rows: int) -> None:
    conn.execute(
        "INSERT INTO drops (reason, rows) VALUES (?, ?) ON CONFLICT (reason) DO UPDATE SET rows = rows + ?",
        (reason, rows, rows),
    )
