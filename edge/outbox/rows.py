"""Rows into the outbox's tables: numbering in arrival order and the inserts, inside the caller's transaction.

Readings are inserted with 100-row ``INSERT ... VALUES (...), (...), ...`` statements through
``executemany``: the columns become Python lists once per commit (an object array, reshaped), and SQLite
steps once per 100 rows. That costs about half the CPU of a statement per row and releases the GIL 100
times less often, which matters when the event loop is busy polling buses.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np
import numpy.typing as npt

from protocols.records import Event, ReadingBlock

INSERT_READING = "INSERT INTO readings (seq, channel, ts_ms, value, quality) VALUES (?, ?, ?, ?, ?)"
ROWS_PER_STATEMENT = 100
INSERT_READINGS = INSERT_READING + ", (?, ?, ?, ?, ?)" * (ROWS_PER_STATEMENT - 1)
INSERT_EVENT = (
    "INSERT INTO events (seq, channel, ts_ms, rule, level, previous_level, value, message, failure_ts_ms,"
    " r2, points) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

Inserted = list[tuple[npt.NDArray[np.int64], ReadingBlock]]  # readings as stored: seqs, outbox channel ids


def insert(
    conn: sqlite3.Connection, items: list[ReadingBlock | Event], seq: int, channel_ids: npt.NDArray[np.int64]
) -> tuple[int, int, int, Inserted]:
    """Number and insert ``items`` in arrival order from ``seq``.

    Returns ``(next seq, readings added, events added, the readings as stored)``. ``channel_ids`` maps a
    block's site channel index to the outbox's durable channel id.
    """
    inserted: Inserted = []
    run: list[ReadingBlock] = []
    events: list[tuple[Any, ...]] = []
    added = 0
    for item in items:
        if isinstance(item, Event):
            n = _readings(conn, run, seq, channel_ids, inserted)
            seq, added, run = seq + n, added + n, []
            events.append(_event_row(seq, item))
            seq += 1
        else:
            run.append(item)
    n = _readings(conn, run, seq, channel_ids, inserted)
    if events:
        conn.executemany(INSERT_EVENT, events)
    return seq + n, added + n, len(events), inserted


def _readings(
    conn: sqlite3.Connection,
    blocks: list[ReadingBlock],
    first_seq: int,
    channel_ids: npt.NDArray[np.int64],
    inserted: Inserted,
) -> int:
    if not blocks:
        return 0
    b = blocks[0] if len(blocks) == 1 else ReadingBlock.concat(blocks)
    n = len(b)
    if n == 0:
        return 0
    ids = channel_ids[b.channel]
    seqs = np.arange(first_seq, first_seq + n, dtype=np.int64)
    inserted.append((seqs, ReadingBlock(ids.astype(np.int32), b.ts_ms, b.value, b.quality)))
    rows = np.empty((n, 5), dtype=object)  # Python ints and floats, one conversion per column
    columns: tuple[npt.NDArray[Any], ...] = (seqs, ids, b.ts_ms, b.value, b.quality)
    for i, column in enumerate(columns):
        rows[:, i] = column.tolist()  # sqlite3 stores a NaN float as NULL
    whole = n - n % ROWS_PER_STATEMENT
    if whole:
        conn.executemany(INSERT_READINGS, rows[:whole].reshape(-1, 5 * ROWS_PER_STATEMENT).tolist())
    if whole < n:
        conn.executemany(INSERT_READING, rows[whole:].tolist())
    return n


def _event_row(seq: int, e: Event) -> tuple[Any, ...]:
    f = e.forecast
    return (
        seq, e.channel, e.ts_ms, e.rule, e.level, e.previous_level, e.value, e.message,
        None if f is None else f.failure_ts_ms, None if f is None else f.r2, None if f is None else f.points,
    )  # fmt: skip
