"""Readings as stored: a block of readings per row of ``reading_blocks``, each reading with its own seq.

A row per reading cost the writer about 1.5 us of CPU per reading on a small gateway (numbering, binding
five values, a B-tree insert, later a B-tree delete): a third of the whole agent's budget. A commit's run of
readings is instead one row whose ``data`` holds the columns as numpy wrote them, so a commit is one
insert and an acknowledgement deletes whole rows. Every reading keeps its own seq (stored in the block),
so acks, thinning and drops still remove exactly the readings they name; a block that loses only some of
its readings is rewritten with the rest, in the same transaction.

``reading_blocks``:

- ``id INTEGER PRIMARY KEY``: the seq of the block's first reading when it was written (never changed);
- ``first_seq``, ``last_seq``, ``rows``: the seqs and count of the readings it holds now;
- ``data``: one byte that says how the rest is packed, then the columns one after the other,
  little-endian: ``ts_ms`` int64, ``value`` float64 (NaN for no value), ``seq - id`` uint32, the
  outbox's channel id uint32, ``quality`` uint32: 28 bytes a reading as written (``RAW``), or the same
  compressed with zlib at level 1 (``ZLIB``).

Blocks are written raw: while the uplink keeps up, a block is acknowledged and deleted a second or two
later, and compressing it would cost about as much CPU as everything else the writer does for it. A
block still waiting after ``COMPACT_AFTER_S`` (an outage: the backlog) is compressed in place by
``compact``, which the writer runs once a second inside a commit it makes anyway: the columns compress
well (stamps shared by a read, channel ids and seqs that count up, qualities mostly alike), to about 5 to
12 bytes a reading, so the byte budget holds several times more of an outage before it thins.

Blocks never overlap and ids follow seqs: every seq a block holds is at least its id and below the next
block's id. So the block that may hold seq ``s`` is the one with the largest id at or below ``s`` (a
rowid seek), and the blocks from it on hold every later reading, in order. A block is at most
``MAX_BLOCK_ROWS`` readings (a partial ack rewrites at most that much).
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from protocols.records import ReadingBlock

MAX_BLOCK_ROWS = 1024
MAX_SPAN = (1 << 32) - 1  # seq - id must fit its uint32 column
ZLIB_LEVEL = 1
RAW, ZLIB = 0, 1  # the first byte of ``data``
RAW_MARK, ZLIB_MARK = bytes((RAW,)), bytes((ZLIB,))
BARE_ZLIB = 0x78  # a zlib stream's first byte: blocks written before the mark byte existed
COMPACT_AFTER_S = 30.0  # blocks still waiting this long are compressed (``compact``)
TS, VALUE, SEQ, CHANNEL, QUALITY = (np.dtype("<i8"), np.dtype("<f8"), np.dtype("<u4"), np.dtype("<u4"),
                                    np.dtype("<u4"))  # fmt: skip

CREATE = """
CREATE TABLE IF NOT EXISTS reading_blocks (
    id INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, rows INTEGER NOT NULL,
    data BLOB NOT NULL
)
"""
INSERT = "INSERT INTO reading_blocks (id, first_seq, last_seq, rows, data) VALUES (?, ?, ?, ?, ?)"
UPDATE = "UPDATE reading_blocks SET first_seq = ?, last_seq = ?, rows = ?, data = ? WHERE id = ?"
# the blocks from the one that may hold seq ? + 1 on, that start at or before the second ? (by rowid),
# that end after the third ? and start at or before the fourth
IN_RANGE = (
    "FROM reading_blocks WHERE id >= coalesce((SELECT max(id) FROM reading_blocks WHERE id <= ?), 0) "
    "AND id <= ? AND last_seq > ? AND first_seq <= ? ORDER BY id"
)
SELECT_ROWS = "SELECT id, first_seq, last_seq, rows " + IN_RANGE
SELECT_DATA = "SELECT id, rows, data " + IN_RANGE
Row = tuple[int, int, int, int]  # id, first_seq, last_seq, rows


@dataclass(frozen=True, slots=True)
class StoredReadings:
    """Readings as stored: ``block.channel`` holds the outbox's channel ids (see ``channel_keys``)."""

    seq: npt.NDArray[np.int64]
    block: ReadingBlock
    compressed: bool = False  # as stored: a block cut and rewritten keeps its packing

    def __len__(self) -> int:
        return len(self.seq)


EMPTY = StoredReadings(np.empty(0, dtype=np.int64), ReadingBlock())


def pack(block_id: int, seq: npt.NDArray[np.int64], block: ReadingBlock, *, compress: bool = False) -> bytes:
    """The ``data`` of a block whose readings (``block.channel``: outbox ids) have these seqs."""
    columns = (
        block.ts_ms.astype(TS, copy=False).tobytes(),
        block.value.astype(VALUE, copy=False).tobytes(),
        (seq - block_id).astype(SEQ).tobytes(),
        block.channel.astype(CHANNEL).tobytes(),
        block.quality.astype(QUALITY, copy=False).tobytes(),
    )
    if compress:
        return ZLIB_MARK + zlib.compress(b"".join(columns), ZLIB_LEVEL)
    return b"".join((RAW_MARK, *columns))


def _columns(packed: bytes) -> tuple[bytes | memoryview, int]:
    """The columns' bytes and where they start."""
    if packed[0] == ZLIB:
        return zlib.decompress(memoryview(packed)[1:]), 0
    if packed[0] == BARE_ZLIB:
        return zlib.decompress(packed), 0
    return packed, 1


def unpack(block_id: int, rows: int, packed: bytes) -> StoredReadings:
    """A block's readings; ``block.channel`` holds the outbox's channel ids."""
    data, at = _columns(packed)
    columns = []
    for dtype in (TS, VALUE, SEQ, CHANNEL, QUALITY):
        columns.append(np.frombuffer(data, dtype, rows, at))
        at += rows * dtype.itemsize
    ts, value, offset, channel, quality = columns
    block = ReadingBlock(
        channel.astype(np.int32), ts.astype(np.int64), value.astype(np.float64), quality.astype(np.uint32)
    )
    return StoredReadings(offset.astype(np.int64) + block_id, block, packed[0] != RAW)


def insert(
    conn: sqlite3.Connection, seq: npt.NDArray[np.int64], block: ReadingBlock, *, compress: bool = False
) -> None:
    """Store readings with ascending seqs above every stored one, as blocks of at most MAX_BLOCK_ROWS."""
    rows = []
    start = 0
    while start < len(seq):
        stop = min(len(seq), start + MAX_BLOCK_ROWS)
        if seq[stop - 1] - seq[start] > MAX_SPAN:  # (never for fresh readings: their seqs follow on)
            stop = start + int(np.searchsorted(seq[start:stop], seq[start] + MAX_SPAN, side="right"))
        part = seq[start:stop]
        first = int(part[0])
        sub = block if start == 0 and stop == len(seq) else _take(block, slice(start, stop))
        rows.append((first, first, int(part[-1]), len(part), pack(first, part, sub, compress=compress)))
        start = stop
    conn.executemany(INSERT, rows)


def overlapping(conn: sqlite3.Connection, after_seq: int, through_seq: int) -> sqlite3.Cursor:
    """A cursor over the blocks holding readings with ``after_seq < seq <= through_seq``, in seq order:
    ``Row``s, without their data. Close it (or read it to the end) before writing to the table."""
    return conn.execute(SELECT_ROWS, (after_seq + 1, through_seq, after_seq, through_seq))


def load(conn: sqlite3.Connection, row: Row) -> StoredReadings:
    (data,) = conn.execute("SELECT data FROM reading_blocks WHERE id = ?", (row[0],)).fetchone()
    return unpack(row[0], row[3], data)


def readings(conn: sqlite3.Connection, after_seq: int, through_seq: int, limit: int) -> StoredReadings:
    """Up to ``limit`` readings with ``after_seq < seq <= through_seq``, oldest first."""
    parts: list[StoredReadings] = []
    taken = 0
    cursor = conn.execute(SELECT_DATA, (after_seq + 1, through_seq, after_seq, through_seq))
    for block_id, rows, data in cursor:
        stored = unpack(block_id, rows, data)
        keep = np.flatnonzero((stored.seq > after_seq) & (stored.seq <= through_seq))[: limit - taken]
        if len(keep) < len(stored):
            stored = take(stored, keep)
        parts.append(stored)
        taken += len(stored)
        if taken >= limit:
            break
    cursor.close()
    if not parts:
        return EMPTY
    if len(parts) == 1:
        return parts[0]
    return StoredReadings(
        np.concatenate([p.seq for p in parts]), ReadingBlock.concat([p.block for p in parts])
    )


def keep_only(
    conn: sqlite3.Connection,
    row: Row,
    stored: StoredReadings,
    keep: npt.NDArray[np.bool_],
    *,
    compress: bool = False,
) -> int:
    """Keep the readings of a block where ``keep`` is True (rewrite it, or delete it); the count removed.
    The rewritten block is compressed if it was, or if ``compress``."""
    kept = int(keep.sum())
    if kept == len(stored):
        return 0
    if kept == 0:
        conn.execute("DELETE FROM reading_blocks WHERE id = ?", (row[0],))
    else:
        rest = take(stored, np.flatnonzero(keep))
        data = pack(row[0], rest.seq, rest.block, compress=compress or stored.compressed)
        conn.execute(UPDATE, (int(rest.seq[0]), int(rest.seq[-1]), kept, data, row[0]))
    return len(stored) - kept


def delete_ranges(conn: sqlite3.Connection, ranges: Sequence[tuple[int, int]]) -> int:
    """Delete exactly the readings whose seq is in one of the inclusive ``ranges``; the count deleted."""
    removed = 0
    for a, b in ranges:
        if b < a:
            continue
        whole: list[tuple[int]] = []
        for row in overlapping(conn, a - 1, b).fetchall():
            block_id, first, last, rows = row
            if first >= a and last <= b:
                whole.append((block_id,))
                removed += rows
            else:
                stored = load(conn, row)
                removed += keep_only(conn, row, stored, (stored.seq < a) | (stored.seq > b))
        conn.executemany("DELETE FROM reading_blocks WHERE id = ?", whole)
    return removed


def compact(conn: sqlite3.Connection, after_id: int, through_id: int, limit: int) -> int:
    """Compress the raw blocks among the next ``limit`` blocks with ``after_id < id <= through_id``;
    returns the id of the last block looked at (``through_id`` when none is left), for the next call to
    start after. Bounded by the blocks looked at, not the blocks compressed: after a restart the scan
    starts again from the oldest block, and a long backlog already compressed must not be read in one go."""
    found = conn.execute(
        "SELECT id, data FROM reading_blocks WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
        (after_id, through_id, limit),
    ).fetchall()
    conn.executemany(
        "UPDATE reading_blocks SET data = ? WHERE id = ?",
        [
            (ZLIB_MARK + zlib.compress(memoryview(data)[1:], ZLIB_LEVEL), block_id)
            for block_id, data in found
            if data[0] == RAW
        ],
    )
    return int(found[-1][0]) if len(found) == limit else through_id


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(sum(rows), 0) FROM reading_blocks").fetchone()[0])


def first_ts_ms(conn: sqlite3.Connection) -> int | None:
    """The stamp of the reading with the lowest seq, or None when there is none."""
    row = conn.execute("SELECT data FROM reading_blocks ORDER BY id LIMIT 1").fetchone()
    if row is None:
        return None
    data, at = _columns(row[0])
    return int(np.frombuffer(data, TS, 1, at)[0])


def take(stored: StoredReadings, index: npt.NDArray[np.intp] | slice) -> StoredReadings:
    return StoredReadings(stored.seq[index], _take(stored.block, index))


def _take(b: ReadingBlock, index: npt.NDArray[np.intp] | slice) -> ReadingBlock:
    return ReadingBlock(b.channel[index], b.ts_ms[index], b.value[index], b.quality[index])
