"""The outbox's one writer: a thread that owns the write connection and commits in batches.

Appends (reading blocks, events) are put on a queue and never wait for the disk. The thread takes them
off, and commits when it holds ``commit_rows`` rows or when the oldest of them has waited
``commit_interval_ms``, whichever comes first (it is woken only for that, an event or an op, not for
every block). One transaction numbers the rows (``seq``), inserts each run of readings as a stored block
(``blocks``: one row per up to 1024 readings, the numpy columns as bytes) and each event as a row, and
stores the next seq in ``meta``: the rows and the seq high-water mark are durable together or not at all,
so a seq never repeats, even across crashes.

Other writes (deleting acknowledged rows, dead-lettering a refused batch, recording the uplink's state)
are ``Op``s on the same queue; each carries a ``concurrent.futures.Future`` resolved after its commit,
and commits at once together with whatever appends are pending.

About once a second (and at every op, and when the room under the budget runs short) a commit also
compresses the blocks that have waited ``blocks.COMPACT_AFTER_S`` (the backlog of an outage) and measures
the pages; the thread then checks the byte budget (``budget``) and evicts when the pages are over it.
A full disk (``SQLITE_FULL``) lowers the budget to what the disk held, evicts under the ``*_disk_full``
reasons and retries; if the rows still do not fit, the pending readings are dropped and counted
(``dropped_disk_full``) and the events stay queued. Any other error is logged once, counted, and retried
with backoff; ``healthy()`` turns False, which stops the systemd watchdog pings.

Over 400 lines because the writer thread's state (queue, seq, row counts, byte budget, tail cache) is
one object that only this thread touches; split, that state would be shared between modules.
"""

from __future__ import annotations

import ctypes
import logging
import queue
import random
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.outbox import blocks, budget, rows
from edge.outbox.cache import TailCache
from edge.outbox.inflight import InFlight
from edge.outbox.ops import Op, OpResult, settle
from edge.outbox.transaction import immediate
from protocols.backoff import Backoff
from protocols.records import Event, ReadingBlock

log = logging.getLogger(__name__)

PR_SET_NAME = 15
LIVENESS_S = 1.0  # the thread wakes at least this often, so a watchdog can tell it is alive
RETRY = Backoff(first_s=0.1, max_s=5.0)  # a failed commit (disk full, I/O error) is tried again
UNHEALTHY_AFTER_S = 30.0  # a writer that has not committed pending rows for this long is not healthy
BUDGET_CHECK_S = 1.0  # the pages are measured (and the budget checked) at least this often
# What a commit can add to the pages, at most: a reading takes at most 28 bytes in its block (before
# compression); a block, its row and a page's worth of slack are covered by the per-commit bound.
GROWTH_BOUND_READING = 64
GROWTH_BOUND_EVENT = 1024
GROWTH_BOUND_COMMIT = 16 * 4096
COMPACT_BLOCKS = 64  # blocks looked at per step (about once a second), up to 64 x 1024 readings


@dataclass(slots=True)
class _Stop:
    future: Future[None] = field(default_factory=Future)


@dataclass(slots=True)
class _Pending:
    items: list[ReadingBlock | Event] = field(default_factory=list)  # in arrival order: seqs follow it
    ops: list[Op] = field(default_factory=list)
    rows: int = 0
    since: float = 0.0  # monotonic time the oldest pending append arrived
    urgent: bool = False  # an event or an urgent op: commit without waiting

    def empty(self) -> bool:
        return not (self.items or self.ops)


class Writer(threading.Thread):
    def __init__(
        self,
        conn: sqlite3.Connection,
        db_path: str,
        *,
        channel_ids: npt.NDArray[np.int64],
        commit_rows: int,
        commit_interval_ms: int,
        max_bytes: int,
        keep_every: int,
        synchronous: str = "FULL",
        on_commit: Callable[[int], None] | None = None,
        inflight: InFlight | None = None,
    ) -> None:
        super().__init__(name="outbox-writer", daemon=True)
        self.inflight = inflight or InFlight()
        self.conn = conn
        self.db_path = db_path
        self.channel_ids = channel_ids
        self.commit_rows = commit_rows
        self.commit_interval_s = commit_interval_ms / 1000
        self.keep_every = keep_every
        self.synchronous = synchronous.upper()
        self.commit_listeners: list[Callable[[int], None]] = [on_commit] if on_commit else []
        self.queue: queue.SimpleQueue[ReadingBlock | Event | Op | _Stop] = queue.SimpleQueue()
        self.budget = budget.ByteBudget(db_path, max_bytes)
        self.budget.configure(conn)
        self.next_seq = int(_meta(conn, "next_seq"))
        self.reading_rows = blocks.count(conn)
        self.event_rows = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        self.drops: Counter[str] = Counter(dict(conn.execute("SELECT reason, rows FROM drops").fetchall()))
        self._unpersisted: Counter[str] = Counter()
        self._drop_lock = threading.Lock()
        self.page_bytes = budget.page_bytes(conn)
        self._budget_checked = (time.monotonic(), 0)  # when the pages were measured, bytes written since
        self._seq_marks: deque[tuple[float, int]] = deque()  # (when, next_seq), for compaction's age
        self._compact_mark = 0  # blocks up to this id have waited long enough to be compressed
        self._compacted_through = 0  # blocks up to this id are compressed (or were looked at)
        self.counters: Counter[str] = Counter()
        self.appended_rows = 0  # written by the appending thread only
        self.taken_rows = 0  # written by this thread only
        self.pending_high_water = 0
        self.commit_s_last = 0.0
        self.commit_s_max = 0.0
        self.last_error = ""
        self.alive_at = time.monotonic()
        self.error_since: float | None = None
        self.cache = TailCache()
        self._inserted: list[tuple[npt.NDArray[np.int64], ReadingBlock]] = []  # this transaction's readings
        self._pending = _Pending()
        self._urgent = threading.Event()
        self._oldest_at: float | None = None  # when the oldest queued, not yet taken, item arrived
        self._rows_at = -float("inf")  # when readings were last appended

    # ------------------------------------------------------------------ called from other threads

    def put(self, item: ReadingBlock | Event | Op) -> None:
        """Queue an item; wake the thread when a commit is due at once (rows enough, an event, an urgent
        op), or when the queue was empty (the thread may be in its idle wait, and must time this item's
        commit). Otherwise it wakes by itself when the oldest queued row has waited commit_interval_ms:
        a wake-up per block would cost more than the block's rows."""
        now = time.monotonic()
        urgent = True
        if isinstance(item, ReadingBlock):
            self.appended_rows += len(item)
            urgent = self.pending_rows >= self.commit_rows
            self._rows_at = now
        elif isinstance(item, Event):
            self.appended_rows += 1
        elif not item.urgent:
            # rows are flowing: it goes with their next commit; else nothing would come to take it along
            item.urgent = urgent = now - self._rows_at >= self.commit_interval_s
        if self._oldest_at is None:
            self._oldest_at = now
            urgent = True
        self.queue.put(item)
        if urgent:
            self._urgent.set()

    @property
    def pending_rows(self) -> int:
        return self.appended_rows - self.taken_rows

    def stop(self, timeout_s: float = 30.0) -> None:
        """Commit what is pending and end the thread."""
        if not self.is_alive():
            return
        stop = _Stop()
        self.queue.put(stop)
        self._urgent.set()
        stop.future.result(timeout=timeout_s)
        self.join(timeout=timeout_s)

    def healthy(self) -> bool:
        now = time.monotonic()
        alive = self.is_alive() and now - self.alive_at < 10 * LIVENESS_S
        return alive and (self.error_since is None or now - self.error_since < UNHEALTHY_AFTER_S)

    # ------------------------------------------------------------------ the thread

    def run(self) -> None:
        _name_os_thread(b"outbox-writer")
        stop: _Stop | None = None
        failures = 0
        rng = random.Random()
        while stop is None:
            self.alive_at = time.monotonic()
            stop = self._gather()
            if self._pending.empty() or not self._due(stop):
                continue
            try:
                self._commit()
                failures = 0
            except sqlite3.Error as e:
                self._failed(e)
                if stop is not None:
                    break
                failures += 1
                time.sleep(RETRY.delay_s(failures, rng))
            except Exception as e:  # a bug must not kill the only writer: drop what caused it, counted
                log.exception("outbox %s: unexpected error; dropping the pending rows", self.db_path)
                self._discard(e)
        if stop is not None:
            if self.error_since is not None:
                stop.future.set_exception(RuntimeError(f"the outbox could not commit: {self.last_error}"))
            else:
                stop.future.set_result(None)

    def _gather(self) -> _Stop | None:
        """Wait until something is due, then take everything queued; a stop request if one came."""
        p = self._pending
        now = time.monotonic()
        due_at = [t + self.commit_interval_s for t in (self._oldest_at, None if p.empty() else p.since) if t]
        timeout = min([LIVENESS_S, *(t - now for t in due_at)])
        if timeout > 0:
            self._urgent.wait(timeout)
        self._urgent.clear()
        arrived = self._oldest_at or time.monotonic()
        self._oldest_at = None  # first, so an item queued while we drain stamps its own arrival
        stop = None
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Stop):
                stop = item
                continue
            if p.empty():
                p.since = arrived
            if isinstance(item, ReadingBlock):
                p.items.append(item)
                p.rows += len(item)
            elif isinstance(item, Event):
                p.items.append(item)
                p.rows += 1
                p.urgent = True
            else:
                p.ops.append(item)
                p.urgent = p.urgent or item.urgent
            if p.rows >= self.commit_rows:  # a transaction of about commit_rows: bounded WAL growth
                if not self.queue.empty():
                    self._oldest_at = self._oldest_at or arrived
                    self._urgent.set()
                break
        self.pending_high_water = max(self.pending_high_water, self.pending_rows)
        return stop

    def _due(self, stop: _Stop | None) -> bool:
        p = self._pending
        if stop is not None or p.urgent:
            return True
        return p.rows >= self.commit_rows or time.monotonic() - p.since >= self.commit_interval_s

    def _failed(self, e: sqlite3.Error) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.counters["failed_commits"] += 1
        if self.error_since is None:
            self.error_since = time.monotonic()
            log.error("outbox %s: commit failed (%s); retrying, the rows stay queued", self.db_path, e)
        self.last_error = f"{type(e).__name__}: {e}"

    def _discard(self, e: Exception) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        p, self._pending = self._pending, _Pending()
        self.taken_rows += p.rows
        self.note_drop("dropped_writer_error", p.rows)
        self.last_error = f"{type(e).__name__}: {e}"
        for op in p.ops:
            settle(op.future, error=e)

    # ------------------------------------------------------------------ committing

    def _commit(self) -> None:
        started = time.perf_counter()
        p = self._pending
        try:
            results = self._transaction(p)
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode != sqlite3.SQLITE_FULL:
                raise
            results = self._disk_full(p)
        self._pending = _Pending()
        self.taken_rows += p.rows
        self.commit_s_last = time.perf_counter() - started
        self.commit_s_max = max(self.commit_s_max, self.commit_s_last)
        if self.error_since is not None:
            log.info("outbox %s: commits succeed again", self.db_path)
            self.error_since = None
        if self._budget_checked[1] == 0:  # this commit measured the pages: check the budget now
            self._evict_if_over(measured=True)  # before the futures: a flushed outbox is within its budget
        for op, result in zip(p.ops, results, strict=True):
            settle(op.future, result)
        if p.items:
            self._tell_listeners(self.next_seq - 1)

    def _tell_listeners(self, produced_through: int) -> None:
        for listener in self.commit_listeners:
            try:
                listener(produced_through)
            except Exception:  # a listener's trouble (a closed event loop at exit) is not the rows'
                log.debug("outbox commit listener failed", exc_info=True)

    def _transaction(self, p: _Pending) -> list[OpResult]:
        conn = self.conn
        seq = self.next_seq
        with self._drop_lock:
            unpersisted = Counter(self._unpersisted)
        sync = self.synchronous != "FULL" and any(op.sync for op in p.ops)
        if sync:
            conn.execute("PRAGMA synchronous = FULL")
        self._inserted = []
        try:
            with immediate(conn):
                seq, added, events, self._inserted = rows.insert(conn, p.items, seq, self.channel_ids)
                results = [op.apply(conn) for op in p.ops]
                conn.execute("UPDATE meta SET value = ? WHERE name = 'next_seq'", (seq,))
                for reason, count in unpersisted.items():
                    budget.count(conn, reason, count)
                measure = self._budget_check_due(p, added, events)
                compacted = self._compact(conn, seq) if measure else self._compacted_through
                pages = budget.page_bytes(conn) if measure else -1  # in the transaction: no lock of its own
        finally:
            if sync:
                conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        if pages >= 0:
            self.page_bytes = pages
            self._budget_checked = (time.monotonic(), 0)
        self._compacted_through = compacted  # only once committed: a rolled-back step is done again
        with self._drop_lock:
            self._unpersisted -= unpersisted
        for seqs, block in self._inserted:
            self.cache.add(seqs, block)
        for result in results:
            self.cache.remove(result.removed_ranges)
            self.inflight.settle(result.settled)
        self.counters["commits"] += 1
        self.counters["readings_committed"] += added
        self.counters["events_committed"] += events
        self.reading_rows += added - sum(r.readings_removed for r in results)
        self.event_rows += events - sum(r.events_removed for r in results)
        self.next_seq = seq
        return results

    def note_drop(self, reason: str, rows: int) -> None:
        """Count rows dropped before they reached the file (any thread); persisted with the next commit."""
        with self._drop_lock:
            self.drops[reason] += rows
            self._unpersisted[reason] += rows

    # ------------------------------------------------------------------ the byte budget and a full disk

    def _budget_check_due(self, p: _Pending, readings: int, events: int) -> bool:
        """Whether this commit must measure the pages and check the budget (inside its transaction).

        Measuring costs more than the rest of a small commit, and a budget of a gigabyte is not reached
        in a tenth of a second: the pages are measured once a second, at every op (a dead letter stores
        a payload), and whenever what was written since the last measurement could, at its largest
        (``GROWTH_BOUND_*``), have used a quarter of the room left under the budget.
        """
        checked_at, grown = self._budget_checked
        grown += readings * GROWTH_BOUND_READING + events * GROWTH_BOUND_EVENT + GROWTH_BOUND_COMMIT
        self._budget_checked = (checked_at, grown)
        room = self.budget.current - self.page_bytes
        return bool(p.ops) or time.monotonic() - checked_at >= BUDGET_CHECK_S or grown * 4 >= room

    def _compact(self, conn: sqlite3.Connection, next_seq: int) -> int:
        """Compress the blocks that have waited ``COMPACT_AFTER_S`` (``blocks.compact``), a bounded step,
        inside the current transaction; returns how far the blocks are compressed if it commits. Runs
        with the budget check, about once a second."""
        now = time.monotonic()
        self._seq_marks.append((now, next_seq))
        while self._seq_marks and now - self._seq_marks[0][0] >= blocks.COMPACT_AFTER_S:
            self._compact_mark = self._seq_marks.popleft()[1] - 1  # every block written by then starts here
        if self._compact_mark <= self._compacted_through:
            return self._compacted_through
        return blocks.compact(conn, self._compacted_through, self._compact_mark, COMPACT_BLOCKS)

    def _evict_if_over(self, limit: int | None = None, *, measured: bool = False) -> None:
        """Evict when the pages are over the budget (``limit``: the one a full disk just set;
        ``measured``: ``page_bytes`` is current, the last transaction measured it)."""
        if not measured:
            self.page_bytes = budget.page_bytes(self.conn)
        if limit is None:
            limit = self.budget.limit(self.page_bytes)
        if self.page_bytes <= limit:
            if self.budget.disk_limited:
                self._reclaim()
            return
        full = self.budget.disk_limited
        plan = budget.Eviction(
            page_budget=limit,
            keep_every=self.keep_every,
            protect_after_seq=self.next_seq - 1 - self.reading_rows // 4,
            thin_reason="thinned_disk_full" if full else "thinned_budget",
            drop_reason="dropped_disk_full" if full else "dropped_budget",
            chunk_rows=budget.CHUNK_ROWS // 10 if full else budget.CHUNK_ROWS,
            exempt=tuple(self.inflight.evicting()),
        )
        evicted: Counter[str] = Counter()
        try:
            budget.evict(self.conn, plan, self.reading_rows, evicted)
        except sqlite3.Error as e:
            self.counters["eviction_failures"] += 1
            log.warning("outbox %s: eviction stopped: %s", self.db_path, e)
        finally:
            with self._drop_lock:
                self.drops.update(evicted)
            if evicted:
                self.cache.clear()  # a row the budget gave up must not be sent from memory
            self.inflight.evicted()
        self.reading_rows -= sum(evicted.values())
        self.page_bytes = budget.page_bytes(self.conn)
        self._reclaim()

    def _reclaim(self) -> None:
        """Free pages of the file back to a file system that runs short (``ByteBudget.reclaim``)."""
        try:
            if self.budget.reclaim(self.conn):
                self.counters["pages_reclaimed"] += 1
                self._checkpoint()
        except sqlite3.Error as e:
            log.debug("outbox %s: reclaiming free pages failed: %s", self.db_path, e)

    def _disk_full(self, p: _Pending) -> list[OpResult]:
        """The disk is full: hold the pages to what fits, make room, and retry once; else drop readings."""
        self.counters["disk_full"] += 1
        self._checkpoint()
        limit = self.budget.disk_full(self.conn, budget.page_bytes(self.conn))
        log.error(
            "outbox %s: the disk is full; holding the outbox to %d bytes of pages, evicting old readings",
            self.db_path,
            limit,
        )
        self._evict_if_over(limit)
        self._checkpoint()
        try:
            return self._transaction(p)
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode != sqlite3.SQLITE_FULL:
                raise
        lost = sum(len(i) for i in p.items if isinstance(i, ReadingBlock))
        self.note_drop("dropped_disk_full", lost)
        self.taken_rows += lost
        p.rows -= lost
        p.items = [i for i in p.items if isinstance(i, Event)]
        log.error("outbox %s: still full; dropped %d pending readings (counted)", self.db_path, lost)
        return self._transaction(p)  # events and ops only; if even they fail, the loop retries them

    def _checkpoint(self) -> None:
        """Copy the WAL into the file and truncate it, giving its space back (best effort)."""
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as e:
            log.debug("outbox %s: checkpoint failed: %s", self.db_path, e)

    # ------------------------------------------------------------------ statistics

    def statistics(self) -> dict[str, Any]:
        return {
            **{k: self.counters[k] for k in ("commits", "readings_committed", "events_committed")},
            "failed_commits": self.counters["failed_commits"],
            "disk_full": self.counters["disk_full"],
            "pending_rows": self.pending_rows,
            "pending_high_water": self.pending_high_water,
            "commit_ms_last": round(self.commit_s_last * 1e3, 3),
            "commit_ms_max": round(self.commit_s_max * 1e3, 3),
            "healthy": self.healthy(),
            "last_error": self.last_error,
        }


def _meta(conn: sqlite3.Connection, name: str) -> Any:
    row = conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    return None if row is None else row[0]


def _name_os_thread(name: bytes) -> None:
    """Show the thread's name to the OS (``top -H``, ``/proc/PID/task/TID/comm``); Linux only, best effort."""
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(PR_SET_NAME, ctypes.c_char_p(name[:15]), 0, 0, 0)
    except (OSError, AttributeError):
        pass
