"""The scale store: PostgreSQL through psycopg 3, shared by several central processes.

Each store thread holds one autocommit connection; a write is one explicit transaction. Readings go in by
binary ``COPY`` (``central.store.pgcopy``): the ledger has already removed every row that was committed
before, so COPY never meets a duplicate. Two processes ingesting one gateway's batches at once take turns
on the gateway's row lock (the ingest's first statement upserts that row); different gateways ingest in
parallel. Schema migrations run under an advisory lock (``central.store.postgres_schema``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.rows import dict_row

from central.store.base import ChangeFeed
from central.store.handle import LATEST_CONFLICT, ROLLUP_CONFLICT, Db, Named, Row
from central.store.pgcopy import COLUMNS, readings_copy
from central.store.postgres_feed import NOTIFY_CHANNEL, PgChangeFeed, notification
from central.store.postgres_schema import LOCK_KEY, MIGRATIONS
from central.store.sql_store import SqlStore


@functools.lru_cache(maxsize=512)
def placeholders(sql: str) -> str:
    """The shared SQL's ``?`` placeholders as psycopg's ``%s`` (the shared SQL has no ``%``)."""
    return sql.replace("?", "%s")


UPSERT_LATEST_ARRAYS = (
    "INSERT INTO latest (channel_id, ts_ms, seq, value, quality) "  # noqa: S608 (constants, no input)
    "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::float8[], %s::bigint[]) "
    + LATEST_CONFLICT
)
UPSERT_ROLLUP_ARRAYS = (
    "INSERT INTO rollup_hour (channel_id, hour_ms, n, total, lo, hi, last_ts, last_seq, last_value) "  # noqa: S608
    "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::float8[], %s::float8[], "
    "%s::float8[], %s::bigint[], %s::bigint[], %s::float8[]) " + ROLLUP_CONFLICT
)


class PgDb(Db):
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = self.conn.execute(placeholders(sql), params or None)
        return cur.fetchall() if cur.description is not None else []

    def named(self, sql: str, params: Sequence[Any] = ()) -> list[Named]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(placeholders(sql), params or None)
            return cur.fetchall() if cur.description is not None else []

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(placeholders(sql), params or None).rowcount

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(placeholders(sql), rows)

    def upsert_latest(self, rows: Sequence[tuple[int, int, int, float | None, int]]) -> None:
        """One statement over arrays instead of one per channel: a single round trip."""
        if rows:
            self.conn.execute(UPSERT_LATEST_ARRAYS, [list(col) for col in zip(*rows, strict=True)])

    def upsert_rollups(self, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.execute(UPSERT_ROLLUP_ARRAYS, [list(col) for col in zip(*rows, strict=True)])

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
        # no unique key on readings here: rows of different epochs may share (channel, time, seq)
        stream = readings_copy(channel_id, ts_ms, seq, value, quality)
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY readings ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as cp,
        ):
            cp.write(stream)


class PostgresStore(SqlStore):
    kind = "postgresql"

    def __init__(self, url: str, threads: int = 4) -> None:
        super().__init__(threads)
        self.url = url
        self._migrate_lock = threading.Lock()

    def _open(self) -> Db:
        return PgDb(psycopg.connect(self.url, autocommit=True))

    def _close_connections(self) -> None:
        for handle in self._all_handles():
            assert isinstance(handle, PgDb)
            handle.conn.close()

    def migrate(self) -> list[str]:
        handle = self._db()
        assert isinstance(handle, PgDb)
        conn = handle.conn
        applied: list[str] = []
        with self._migrate_lock, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name TEXT PRIMARY KEY, applied_ms BIGINT NOT NULL)"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations").fetchall()}
            for name, script in MIGRATIONS:
                if name in done:
                    continue
                conn.execute(script)
                conn.execute(
                    "INSERT INTO schema_migrations (name, applied_ms) "
                    "VALUES (%s, (extract(epoch FROM now()) * 1000)::bigint)",
                    (name,),
                )
                applied.append(name)
        return applied

    def change_feed(self) -> ChangeFeed:
        return PgChangeFeed(self.url)

    def announce(self, origin: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        payloads = [notification(origin, kind, data) for kind, data in items]
        handle = self._db()
        assert isinstance(handle, PgDb)
        handle.conn.execute(
            "SELECT pg_notify(%s, p) FROM unnest(%s::text[]) AS p", (NOTIFY_CHANNEL, payloads)
        )

    @contextmanager
    def _write(self) -> Iterator[Db]:
        handle = self._db()
        assert isinstance(handle, PgDb)
        with handle.conn.transaction():
            yield handle
