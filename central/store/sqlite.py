"""The embedded store: one SQLite file in WAL mode, through sqlite-utils (migrations, WAL).

Each store thread has its own connection (WAL lets readers run beside the writer); writes take one
process-wide lock and ``BEGIN IMMEDIATE``, so a writer never waits inside SQLite for another. The ingest
hot path uses the connection's ``executemany`` directly. ``synchronous=FULL`` by default: the central
acknowledges a batch after commit and the edge then deletes it, so a commit must survive a power cut.

Group commit: an fsync costs about as much as writing a 1000-reading batch, and SQLite has one writer
anyway, so batches that arrive while another is being written wait in a queue, and the next writer
commits all of them in one transaction. If one of them fails, the transaction is rolled back and each
batch is written again in a transaction of its own, so only the failing batch's caller gets the error.
Every caller returns only after the commit that holds its batch.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

from central.store import batch_sql
from central.store.handle import Db, Named, Row
from central.store.records import IngestOutcome
from central.store.sql_store import SqlStore
from central.store.sqlite_schema import migrations
from protocols.wire import Batch

INSERT_READINGS = (
    "INSERT INTO readings (channel_id, ts_ms, seq, epoch, value, quality) VALUES (?, ?, ?, ?, ?, ?)"
)


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: ``BEGIN IMMEDIATE`` (the write lock at once), commit at the end, roll back on
    any exception (the edge's outbox has the same: ``edge.outbox.transaction``)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def path_of(url: str) -> Path:
    """``sqlite:///relative/path`` or ``sqlite:////absolute/path`` -> the file's path."""
    return Path(urlsplit(url).path[1:])


class SqliteDb(Db):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(sql, params).fetchall()

    def named(self, sql: str, params: Sequence[Any] = ()) -> list[Named]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

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
        *,
        epoch: npt.NDArray[np.int64],
    ) -> None:
        # sqlite3 stores a NaN float as NULL, which is what we want
        columns = (channel_id, ts_ms, seq, epoch, value, quality)
        rows = zip(*(c.tolist() for c in columns), strict=True)
        self.conn.executemany(INSERT_READINGS, rows)


@dataclass(eq=False, slots=True)
class _Job:
    batch: Batch
    now_ms: int
    max_channels: int | None = None
    outcome: IngestOutcome | None = None
    error: BaseException | None = None
    done: bool = False


class SqliteStore(SqlStore):
    kind = "sqlite"

    def __init__(self, path: Path, threads: int = 4, synchronous: str = "FULL") -> None:
        super().__init__(threads)
        self.path = path
        self.synchronous = synchronous
        self._writer = threading.Lock()
        self._queue: list[_Job] = []
        self._queue_lock = threading.Lock()
        self.groups = {"commits": 0, "batches": 0}

    def ingest(self, batch: Batch, now_ms: int, *, max_channels: int | None = None) -> IngestOutcome:
        job = _Job(batch, now_ms, max_channels)
        with self._queue_lock:
            self._queue.append(job)
        with self._writer:
            if not job.done:  # nobody took it along: write every batch waiting, this one included
                with self._queue_lock:
                    jobs, self._queue = self._queue, []
                self._commit_group(jobs)
        if job.error is not None:
            raise job.error
        assert job.outcome is not None
        return job.outcome

    def _commit_group(self, jobs: list[_Job]) -> None:
        """All waiting batches in one transaction; if one fails, each again in a transaction of its own."""
        try:
            try:
                self._transaction(jobs)
            except Exception as e:
                if len(jobs) == 1:
                    jobs[0].error = e
                    return
                for job in jobs:
                    try:
                        self._transaction([job])
                    except Exception as single:
                        job.error = single
        except BaseException as e:  # interrupted: no job may be left without an answer
            for job in jobs:
                if job.outcome is None and job.error is None:
                    job.error = e
            raise
        finally:
            for job in jobs:
                job.done = True

    def _transaction(self, jobs: list[_Job]) -> None:
        """(Savepoints would isolate each batch, but cost a statement journal: a third more per insert.)"""
        handle = self._db()
        assert isinstance(handle, SqliteDb)
        added: dict[str, int] = {}
        with immediate(handle.conn):
            outcomes = [
                batch_sql.ingest(
                    handle, job.batch, job.now_ms, self.channel_ids, added, max_channels=job.max_channels
                )
                for job in jobs
            ]
        self.channel_ids.update(added)
        for job, outcome in zip(jobs, outcomes, strict=True):
            job.outcome = outcome
        self.groups["commits"] += 1
        self.groups["batches"] += len(jobs)

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
        with self._writer, immediate(handle.conn):
            yield handle
