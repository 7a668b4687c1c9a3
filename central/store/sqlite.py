"""The embedded store: one SQLite file in WAL mode, through sqlite-utils (migrations, WAL).

Each store thread has its own connection (WAL lets readers run beside the writer); writes take one
process-wide lock and ``BEGIN IMMEDIATE``, so a writer never waits inside SQLite for another. The ingest
hot path uses the connection's ``executemany`` directly. ``synchronous=FULL`` by default: the central
acknowledges a batch after commit and the edge then deletes it, so a commit must survive a power cut.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

from central.store.db import Db, Row, SqlStore
from central.store.sqlite_schema import migrations

INSERT_READINGS = "INSERT INTO readings (channel_id, ts_ms, seq, value, quality) VALUES (?, ?, ?, ?, ?)"


def path_of(url: str) -> Path:
    """``sqlite:///relative/path`` or ``sqlite:////absolute/path`` -> the file's path."""
    return Path(urlsplit(url).path[1:])


class SqliteDb(Db):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(sql, params).fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, params).rowcount

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.executemany(sql, rows)

    def insert_readings(
        self,
        channel_id: npt.NDArray[np.int64],
        ts_ms: npt.NDArray[np.int64],
        seq: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        quality: npt.NDArray[np.int64],
    ) -> None:
        # sqlite3 stores a NaN float as NULL, which is what we want
        rows = zip(
            channel_id.tolist(), ts_ms.tolist(), seq.tolist(), value.tolist(), quality.tolist(), strict=True
        )
        self.conn.executemany(INSERT_READINGS, rows)


class SqliteStore(SqlStore):
    kind = "sqlite"

    def __init__(self, path: Path, threads: int = 4, synchronous: str = "FULL") -> None:
        super().__init__(threads)
        self.path = path
        self.synchronous = synchronous
        self._writer = threading.Lock()

    @classmethod
    def from_url(cls, url: str, threads: int = 4) -> SqliteStore:
        return cls(path_of(url), threads)

    def _open(self) -> Db:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        conn.execute("PRAGMA cache_size = -32768")  # 32 MiB per connection
        conn.execute("PRAGMA foreign_keys = ON")
        return SqliteDb(conn)

    def _close_connections(self) -> None:
        for handle in self._all_handles():
            assert isinstance(handle, SqliteDb)
            handle.conn.close()

    def migrate(self) -> list[str]:
        if self.path.parent != Path():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._db()
        assert isinstance(handle, SqliteDb)
        db = Database(handle.conn)
        db.enable_wal()
        pending = [m.name for m in migrations.pending(db)]
        with self._writer:
            migrations.apply(db)
        return pending

    @contextmanager
    def _write(self) -> Iterator[Db]:
        handle = self._db()
        assert isinstance(handle, SqliteDb)
        with self._writer:
            handle.conn.execute("BEGIN IMMEDIATE")
            try:
                yield handle
            except BaseException:
                handle.conn.execute("ROLLBACK")
                raise
            handle.conn.execute("COMMIT")
