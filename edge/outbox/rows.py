"""Rows into the outbox's tables: numbering in arrival order and the inserts, inside the caller's transaction.

Each run of readings between events becomes blocks (``blocks.insert``: one row per up to 1024 readings,
the columns as bytes), numbered from the seq it starts at; each event is one row of ``events``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from edge.outbox import blocks
from protocols import event_fields
from protocols.records import Event, ReadingBlock

INSERT_EVENT = (
    "INSERT INTO events (seq, channel, ts_ms, rule, level, previous_level, value, message, failure_ts_ms,"
    " r2, points, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
    run: list[ReadingBlock],
    first_seq: int,
    channel_ids: npt.NDArray[np.int64],
    inserted: Inserted,
) -> int:
    if not run:
        return 0
    b = run[0] if len(run) == 1 else ReadingBlock.concat(run)
    n = len(b)
    if n == 0:
        return 0
    ids = channel_ids[b.channel].astype(np.int32)
    seqs = np.arange(first_seq, first_seq + n, dtype=np.int64)
    stored = ReadingBlock(ids, b.ts_ms, b.value, b.quality)
    blocks.insert(conn, seqs, stored)
    inserted.append((seqs, stored))
    return n


def _event_row(seq: int, e: Event) -> tuple[Any, ...]:
    f = e.forecast
    return (
        seq, e.channel, e.ts_ms, e.rule, e.level, e.previous_level, e.value, e.message,
        None if f is None else f.failure_ts_ms, None if f is None else f.r2, None if f is None else f.points,
        _detail_json(e),
    )  # fmt: skip


def _detail_json(e: Event) -> str | None:
    """The structured fields (``protocols.event_fields``) as JSON, or NULL for an event without them."""
    found = event_fields.detail(e)
    return orjson.dumps(found).decode() if found else None
