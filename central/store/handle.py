"""One connection of a SQL store, with the few calls the shared SQL needs (``Db``), and the upserts both
stores run.

The shared SQL modules (``batch_sql``, ``alarm_sql``, ``queries``, ``channels_sql``, ``incarnations``) take
a ``Db``; ``central.store.sqlite`` and ``central.store.postgres`` implement it. This module imports none
of them, so the store's modules form no import cycle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from central.notify.in_force import PoliciesInForce

Row = tuple[Any, ...]
Named = dict[str, Any]  # a row by column name (the SELECT's names, ``AS`` included)

# The upserts' conflict clauses, shared by both stores (all SET expressions see the row's old values).
LATEST_CONFLICT = (
    "ON CONFLICT (channel_id) DO UPDATE SET ts_ms = excluded.ts_ms, seq = excluded.seq, "
    "value = excluded.value, quality = excluded.quality "
    "WHERE excluded.ts_ms > latest.ts_ms OR (excluded.ts_ms = latest.ts_ms AND excluded.seq > latest.seq)"
)
_NEWER = (
    "(excluded.last_ts > rollup_hour.last_ts OR "
    "(excluded.last_ts = rollup_hour.last_ts AND excluded.last_seq > rollup_hour.last_seq))"
)
ROLLUP_CONFLICT = (
    "ON CONFLICT (channel_id, hour_ms) DO UPDATE SET "
    "n = rollup_hour.n + excluded.n, total = rollup_hour.total + excluded.total, "
    "lo = CASE WHEN excluded.lo < rollup_hour.lo THEN excluded.lo ELSE rollup_hour.lo END, "
    "hi = CASE WHEN excluded.hi > rollup_hour.hi THEN excluded.hi ELSE rollup_hour.hi END, "
    f"last_value = CASE WHEN {_NEWER} THEN excluded.last_value ELSE rollup_hour.last_value END, "
    f"last_seq = CASE WHEN {_NEWER} THEN excluded.last_seq ELSE rollup_hour.last_seq END, "
    f"last_ts = CASE WHEN {_NEWER} THEN excluded.last_ts ELSE rollup_hour.last_ts END"
)
UPSERT_LATEST = (
    "INSERT INTO latest (channel_id, ts_ms, seq, value, quality) VALUES (?, ?, ?, ?, ?) " + LATEST_CONFLICT  # noqa: S608
)
UPSERT_ROLLUP = (
    "INSERT INTO rollup_hour (channel_id, hour_ms, n, total, lo, hi, last_ts, last_seq, last_value) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) " + ROLLUP_CONFLICT
)


class Db(ABC):
    """One connection, with the few calls the shared SQL needs."""

    outbox: PoliciesInForce | None = None  # the store's notification policies (``central.notify.outbox``)

    @abstractmethod
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    def named(self, sql: str, params: Sequence[Any] = ()) -> list[Named]:
        """``all``, each row a dict by column name: records are built by name, never by position."""

    @abstractmethod
    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a statement; the number of rows it changed."""

    @abstractmethod
    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def upsert_latest(self, rows: Sequence[tuple[int, int, int, float | None, int]]) -> None:
        """Make these (channel_id, ts_ms, seq, value, quality) the latest values where they are newer."""
        self.many(UPSERT_LATEST, rows)

    def upsert_rollups(self, rows: Sequence[Sequence[Any]]) -> None:
        """Fold ``central.store.rollup.hourly`` rows into ``rollup_hour``."""
        self.many(UPSERT_ROLLUP, rows)

    @abstractmethod
    def insert_readings(
        self,
        channel_id: npt.NDArray[np.int64],
        ts_ms: npt.NDArray[np.int64],
        seq: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        quality: npt.NDArray[np.int64],
        *,
        epoch: npt.NDArray[np.int64],
    ) -> None:
        """Insert readings (NaN values as NULL) into ``readings``; ``epoch`` is each one's outbox epoch
        (``central.store.incarnations``), part of the key where the store has a unique one."""
