"""Reading the outbox from the side: the forwarder's batches and the status a technician sees.

An ``OutboxReader`` has its own connection (WAL: readers never block the writer, the writer never
blocks them) and a lock, so one reader may be shared by threads (``asyncio.to_thread`` calls). It only
reads; every write goes through the writer thread.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from edge.outbox import blocks, budget, schema
from edge.outbox.blocks import EMPTY, StoredReadings
from protocols import event_fields
from protocols.records import Event, Forecast

SELECT_EVENTS = (
    "SELECT seq, channel, ts_ms, rule, level, previous_level, value, message, failure_ts_ms, r2, points, "
    "detail FROM events ORDER BY seq LIMIT ?"
)
MAX_SEQ = (1 << 63) - 1
__all__ = ["EMPTY", "MAX_SEQ", "OutboxReader", "StoredReadings", "open_reader"]


class OutboxReader:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self.conn = schema.connect(Path(path), "NORMAL")
        self.conn.execute("PRAGMA query_only = ON")
        self._lock = threading.Lock()
        self._keys: dict[int, str] = {}

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    # ------------------------------------------------------------------ rows for batches

    def readings(self, after_seq: int, through_seq: int = MAX_SEQ, limit: int = 5000) -> StoredReadings:
        """Up to ``limit`` readings with ``after_seq < seq <= through_seq``, oldest first."""
        if limit <= 0:
            return EMPTY
        with self._lock:
            return blocks.readings(self.conn, after_seq, through_seq, limit)

    def events(self, limit: int = 5000) -> list[Event]:
        with self._lock:
            rows = self.conn.execute(SELECT_EVENTS, (limit,)).fetchall()
        return [_event(r) for r in rows]

    def channel_keys(self, ids: npt.NDArray[np.integer]) -> dict[int, str]:
        """The keys of outbox channel ids (cached: an id never changes its key)."""
        keys = self._keys
        if any(i not in keys for i in ids.tolist()):
            with self._lock:
                self._keys.update(self.conn.execute("SELECT id, key FROM channels").fetchall())
        return self._keys

    def unacked_channels(self) -> dict[str, str]:
        """Channel key -> metadata hash, for channels whose metadata the central has not acknowledged."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT key, meta_hash FROM channels WHERE meta_hash != '' AND meta_hash != meta_acked_hash"
            ).fetchall()
        return dict(rows)

    # ------------------------------------------------------------------ status

    def meta(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.conn.execute("SELECT name, value FROM meta").fetchall())

    def incarnation(self) -> str | None:
        """The current incarnation's id (None: a file from before incarnations, not yet opened since)."""
        with self._lock:
            try:
                row = self.conn.execute("SELECT id FROM incarnations ORDER BY n DESC LIMIT 1").fetchone()
            except sqlite3.OperationalError:
                return None
        return None if row is None else str(row[0])

    def drops(self) -> dict[str, int]:
        with self._lock:
            return dict(self.conn.execute("SELECT reason, rows FROM drops ORDER BY reason").fetchall())

    def oldest_ts_ms(self) -> int | None:
        """The stamp of the oldest unacknowledged row (reading or event), or None when empty."""
        with self._lock:
            r = blocks.first_ts_ms(self.conn)
            e = self.conn.execute("SELECT min(ts_ms) FROM events").fetchone()[0]
        stamps = [int(x) for x in (r, e) if x is not None]
        return min(stamps) if stamps else None

    def counts(self) -> dict[str, int]:
        """Rows in each table (a scan: for the status command, not for the hot path)."""
        with self._lock:
            q = self.conn.execute
            return {
                "readings": blocks.count(self.conn),
                "events": int(q("SELECT count(*) FROM events").fetchone()[0]),
                "dead_letters": int(q("SELECT count(*) FROM dead_letters").fetchone()[0]),
                "dead_letter_rows": int(q("SELECT coalesce(sum(rows), 0) FROM dead_letters").fetchone()[0]),
                "channels_unacked": int(
                    q("SELECT count(*) FROM channels WHERE meta_hash != meta_acked_hash").fetchone()[0]
                ),
            }

    def dead_letter_counts(self) -> dict[str, int]:
        with self._lock:
            sql = "SELECT count(*), coalesce(sum(rows), 0) FROM dead_letters"
            batches, rows = self.conn.execute(sql).fetchone()
        return {"batches": int(batches), "rows": int(rows)}

    def bytes_used(self) -> dict[str, int]:
        with self._lock:
            pages = budget.page_bytes(self.conn)
        wal = budget.wal_bytes(self.path)
        return {"pages": pages, "wal": wal, "total": pages + wal}

    def dead_letters(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT id, created_ms, batch_id, error, seq_ranges, rows FROM dead_letters "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        names = ("id", "created_ms", "batch_id", "error", "seq_ranges", "rows")
        return [dict(zip(names, r, strict=True)) for r in rows]

    def integrity(self) -> str:
        with self._lock:
            return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])


def _event(r: tuple[Any, ...]) -> Event:
    seq, channel, ts_ms, rule, level, previous, value, message, fc_ts, fc_r2, fc_points, detail = r
    forecast = None if fc_ts is None else Forecast(int(fc_ts), float(fc_r2), int(fc_points))
    event = Event(
        channel=channel, ts_ms=int(ts_ms), rule=rule, level=int(level), previous_level=int(previous),
        value=math.nan if value is None else float(value), message=message, forecast=forecast, seq=int(seq),
    )  # fmt: skip
    if detail is None:
        return event
    fields = orjson.loads(detail)
    return event_fields.with_detail(event, fields) if not event_fields.problems(fields) else event


def open_reader(path: Path | str) -> OutboxReader:
    """A reader on an existing outbox; ``sqlite3.OperationalError`` if there is none at ``path``."""
    p = Path(path)
    if not p.exists():
        raise sqlite3.OperationalError(f"no outbox at {p}")
    return OutboxReader(p)
