"""The outbox: one SQLite file that holds every reading and event until the central has committed it.

``Outbox.open(path, settings, channels=..., site=...)`` creates or migrates the file, registers the site's
channel keys (durably: a key keeps its outbox id forever), counts the boot, starts this run's incarnation
(``lineage``) and the writer thread. A corrupt file is moved aside and what still reads of it salvaged
into a new one (``salvage``), with a fault event; the outbox goes on. Then:

- ``append_readings(block)`` / ``append_event(event)``: queue rows; never blocks, never touches the disk
  on the caller's thread. A reading block uses the site's channel indexes (``BoundSite.channels``);
- ``acknowledge(ranges, ...)``: delete exactly the rows the central committed (and remember which
  metadata it has seen); ``dead_letter(ranges, ...)``: move a refused batch to the dead-letter table;
- ``flush()``: commit what is queued; ``make_durable()``: in ``synchronous=normal`` mode, fsync the WAL
  so rows may be sent (the central must never see a seq that a power cut could take back);
- ``reader()``: a read connection for the forwarder and the status.

The durability contract is ``docs/durability.md``.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import orjson

from edge.outbox import blocks, lineage, salvage
from edge.outbox.cache import TailCache
from edge.outbox.inflight import InFlight, merge, subtract
from edge.outbox.lineage import Lineage
from edge.outbox.opening import meta_hash, open_file, recover, set_meta
from edge.outbox.ops import Op, OpResult
from edge.outbox.reader import OutboxReader
from edge.outbox.writer import Writer
from protocols.records import Event, Level, ReadingBlock, split_channel_key
from protocols.site import Outbox as OutboxSettings
from protocols.wire import ChannelMeta, SiteMeta

MAX_PENDING_ROWS = 500_000  # queued but not committed: past this, new readings are dropped and counted
OUTBOX_FAULT_CHANNEL = "{gateway}/_gateway/_outbox"  # reserved (point names cannot start with "_")
OUTBOX_CORRUPT_RULE = "outbox_corrupt"
Ranges = Sequence[tuple[int, int]]


log = logging.getLogger(__name__)


class OutboxError(Exception):
    """The outbox cannot be opened or written (a startup error: the message says where and why)."""


class Outbox:
    def __init__(  # noqa: PLR0917 - built by ``open``, not by callers
        self,
        path: Path,
        settings: OutboxSettings,
        writer: Writer,
        channels: Sequence[ChannelMeta],
        site: SiteMeta | None,
        boots: int,
        max_pending_rows: int,
        incarnations: Lineage,
    ) -> None:
        self.path = path
        self.settings = settings
        self.writer = writer
        self.channels = {c.key: c for c in channels}
        self.site = site
        self.site_hash = "" if site is None else meta_hash(site)
        self.boots = boots
        self.max_pending_rows = max_pending_rows
        self.lineage = incarnations
        self.inflight = writer.inflight
        self.corrupt: salvage.Report | None = None  # set when this open found the file corrupt
        self._durable_through = writer.next_seq - 1
        self._closed = False

    @classmethod
    def open(
        cls,
        path: Path | str,
        settings: OutboxSettings | None = None,
        *,
        channels: Sequence[ChannelMeta] = (),
        site: SiteMeta | None = None,
        on_commit: Callable[[int], None] | None = None,
        max_pending_rows: int = MAX_PENDING_ROWS,
        gateway: str | None = None,
    ) -> Outbox:
        """``gateway``: for the fault event of a corrupt file (default: the channels' gateway)."""
        settings = settings or OutboxSettings()
        path = Path(path)
        synchronous = settings.synchronous.upper()
        report = None
        try:
            conn, ids, boots, entries = open_file(path, synchronous, channels)
        except sqlite3.DatabaseError as e:
            if not salvage.is_corrupt(e):
                raise OutboxError(f"cannot open the outbox at {path}: {e}") from e
            report = salvage.Report(str(e), "")
        except (sqlite3.Error, OSError) as e:
            raise OutboxError(f"cannot open the outbox at {path}: {e}") from e
        if report is not None:
            try:
                conn, ids, boots, entries = recover(path, synchronous, channels, report)
            except (sqlite3.Error, OSError) as e:
                raise OutboxError(f"cannot replace the corrupt outbox at {path}: {e}") from e
        in_flight = conn.execute("SELECT value FROM meta WHERE name = 'in_flight'").fetchone()
        writer = Writer(
            conn,
            str(path),
            channel_ids=ids,
            commit_rows=settings.commit_rows,
            commit_interval_ms=settings.commit_interval_ms,
            max_bytes=settings.max_bytes,
            keep_every=settings.thin_keep_every,
            synchronous=synchronous,
            on_commit=on_commit,
            inflight=InFlight.from_json(in_flight[0] if in_flight else None),
        )
        outbox = cls(path, settings, writer, channels, site, boots, max_pending_rows, Lineage(entries))
        writer.start()
        if report is not None:
            outbox.corrupt = report
            outbox._report_corrupt(gateway or (split_channel_key(channels[0].key)[0] if channels else None))
        return outbox

    def _report_corrupt(self, gateway: str | None) -> None:
        """Log it, and raise the equipment fault at the central (an event, the first row of this run)."""
        report = self.corrupt
        assert report is not None
        message = report.message()
        log.error("outbox %s: %s", self.path, message)
        if gateway is not None:
            now_ms = time.time_ns() // 1_000_000
            key = OUTBOX_FAULT_CHANNEL.format(gateway=gateway)
            lost = float(report.lost_readings)
            self.append_event(
                Event(key, now_ms, OUTBOX_CORRUPT_RULE, int(Level.ORANGE), 0, lost, message,
                      rule_kind=OUTBOX_CORRUPT_RULE, criterion="rows_lost", unit="rows")
            )  # fmt: skip

    # ------------------------------------------------------------------ appending (any thread, never blocks)

    def append_readings(self, block: ReadingBlock) -> None:
        n = len(block)
        if n == 0:
            return
        if int(block.channel.min()) < 0 or int(block.channel.max()) >= len(self.writer.channel_ids):
            self.writer.note_drop("dropped_unknown_channel", n)  # a bug upstream; never a crash here
            return
        if self.writer.pending_rows >= self.max_pending_rows:
            self.writer.note_drop("dropped_queue_full", len(block))
            return
        self.writer.put(block)

    def append_event(self, event: Event) -> None:
        self.writer.put(event)  # events are never dropped, not even when the queue is long

    # ------------------------------------------------------------------ other writes (futures)

    def acknowledge(
        self,
        ranges: Ranges,
        *,
        acked_through: int,
        now_ms: int,
        channels_acked: dict[str, str] | None = None,
        site_acked: str | None = None,
        incarnations_acked: list[str] | None = None,
        urgent: bool = True,
    ) -> Future[OpResult]:
        """Delete exactly the rows in ``ranges`` (the central committed them); remember acked metadata and
        the incarnations the central now knows.

        ``urgent=False``: the delete rides with the next commit the queued rows make due (within
        ``commit_interval_ms``), or goes at once when no rows wait: a delete that can wait does not cost
        a commit (an fsync) of its own."""
        pairs = [(int(a), int(b)) for a, b in ranges]
        acked_meta = list((channels_acked or {}).items())

        def apply(conn: sqlite3.Connection) -> OpResult:
            readings = blocks.delete_ranges(conn, pairs)
            events = conn.executemany("DELETE FROM events WHERE seq BETWEEN ? AND ?", pairs).rowcount
            conn.executemany(
                "UPDATE channels SET meta_acked_hash = ? WHERE key = ?", [(h, k) for k, h in acked_meta]
            )
            set_meta(conn, {"last_ack_ms": now_ms})
            conn.execute(  # the central's answer is per epoch; this file's own seqs only grow
                "INSERT INTO meta (name, value) VALUES ('acked_through', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
                (acked_through,),
            )
            if site_acked is not None:
                set_meta(conn, {"site_acked_hash": site_acked})
            if incarnations_acked:
                lineage.mark_acked(conn, incarnations_acked)
            self._settle(conn, pairs)
            return OpResult(max(readings, 0), max(events, 0), tuple(pairs), settled=tuple(pairs))

        return self._op(Op(apply, urgent=urgent))

    def dead_letter(
        self, ranges: Ranges, *, batch_id: int, error: str, payload: bytes, now_ms: int
    ) -> Future[OpResult]:
        """Move a refused batch's rows out of the queue into ``dead_letters`` (kept, counted, reported)."""
        pairs = [(int(a), int(b)) for a, b in ranges]

        def apply(conn: sqlite3.Connection) -> OpResult:
            readings = blocks.delete_ranges(conn, pairs)
            events = conn.executemany("DELETE FROM events WHERE seq BETWEEN ? AND ?", pairs).rowcount
            conn.execute(
                "INSERT INTO dead_letters (created_ms, batch_id, error, seq_ranges, rows, payload) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (now_ms, batch_id, error, orjson.dumps(pairs).decode(), readings + events, payload),
            )
            self._settle(conn, pairs)
            return OpResult(max(readings, 0), max(events, 0), tuple(pairs), settled=tuple(pairs))

        return self._op(Op(apply))

    def sending(self, ranges: Ranges, generation: int, *, urgent: bool = True) -> Future[OpResult] | None:
        """A batch with these seq ranges is about to leave: keep its rows from the budget until the answer
        (``inflight``), durably, and at ``synchronous=normal`` make every committed row durable. None when
        an eviction began after ``generation`` was read: select the batch again.

        ``urgent=False``: the record rides with the next commit the queued rows make due (within
        ``commit_interval_ms``, or at once when no rows flow), instead of costing a commit of its own."""
        pairs = [(int(a), int(b)) for a, b in ranges]
        if not self.inflight.begin(pairs, generation):
            return None
        through = self.writer.next_seq - 1
        if not pairs and self.synchronous_full:  # a heartbeat alone: nothing to record or make durable
            done: Future[OpResult] = Future()
            done.set_result(OpResult())
            return done

        def apply(conn: sqlite3.Connection) -> OpResult:
            set_meta(conn, {"in_flight": self.inflight.to_json()})
            return OpResult()

        future = self._op(Op(apply, sync=not self.synchronous_full, urgent=urgent))
        future.add_done_callback(lambda f: self._durable(through) if f.exception() is None else None)
        return future

    def release(self, ranges: Ranges) -> None:
        """The batch with these ranges certainly never reached the central: its rows may be evicted again."""
        pairs = [(int(a), int(b)) for a, b in ranges]
        self.inflight.settle(pairs)

        def apply(conn: sqlite3.Connection) -> OpResult:
            set_meta(conn, {"in_flight": self.inflight.to_json()})
            return OpResult()

        self._op(Op(apply, urgent=False))

    def _settle(self, conn: sqlite3.Connection, pairs: list[tuple[int, int]]) -> None:
        """Inside an ack's or dead letter's transaction: what stays in flight after it (``meta``); the
        writer settles the rows in memory once the transaction has committed."""
        left = subtract(self.inflight.ranges(), merge(pairs))
        set_meta(conn, {"in_flight": orjson.dumps(left).decode()})

    def record(self, values: dict[str, Any]) -> Future[OpResult]:
        """Store state in ``meta`` (the uplink's last error, for ``fieldwatch-edge status``)."""

        def apply(conn: sqlite3.Connection) -> OpResult:
            set_meta(conn, values)
            return OpResult()

        return self._op(Op(apply))

    def flush(self) -> Future[OpResult]:
        """Commit everything queued so far; the future resolves after the commit."""
        return self._op(Op(lambda conn: OpResult()))

    def make_durable(self) -> Future[OpResult]:
        """Make every committed row durable (fsync the WAL); at ``synchronous=full`` it already is."""
        through = self.writer.next_seq - 1
        future = self._op(Op(lambda conn: OpResult(), sync=True))
        future.add_done_callback(lambda f: self._durable(through) if f.exception() is None else None)
        return future

    def _durable(self, through: int) -> None:
        self._durable_through = max(self._durable_through, through)

    @property
    def durable_through(self) -> int:
        """The highest seq a power cut cannot take back: every committed one at FULL."""
        return self.produced_through if self.synchronous_full else self._durable_through

    def _op(self, op: Op) -> Future[OpResult]:
        if self._closed:
            op.future.set_exception(OutboxError("the outbox is closed"))
        else:
            self.writer.put(op)
        return op.future

    def on_commit(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(produced_through)`` on the writer thread after every commit that adds rows."""
        self.writer.commit_listeners.append(listener)

    # ------------------------------------------------------------------ reading and state

    @property
    def produced_through(self) -> int:
        """The highest seq committed so far (0: none)."""
        return self.writer.next_seq - 1

    @property
    def waiting_events(self) -> int:
        """Events committed and not yet acknowledged (the forwarder sends them first)."""
        return self.writer.event_rows

    @property
    def waiting_readings(self) -> int:
        """Readings committed and not yet acknowledged or given up."""
        return self.writer.reading_rows

    @property
    def tail(self) -> TailCache:
        """The newest committed readings in memory: the batch builder reads the live tail from here."""
        return self.writer.cache

    @property
    def synchronous_full(self) -> bool:
        return self.settings.synchronous == "full"

    def reader(self) -> OutboxReader:
        return OutboxReader(self.path)

    def healthy(self) -> bool:
        return self.writer.healthy()

    def statistics(self) -> dict[str, Any]:
        w = self.writer
        return {
            "rows": w.reading_rows + w.event_rows,
            "readings": w.reading_rows,
            "events": w.event_rows,
            "bytes": w.page_bytes,
            "page_budget_bytes": w.budget.current,
            "disk_limited": w.budget.disk_limited,
            "produced_through": self.produced_through,
            "drops": dict(w.drops),
            "writer": w.statistics(),
        }

    def close(self, timeout_s: float = 30.0) -> None:
        """Commit what is queued and stop the writer (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.writer.stop(timeout_s)
        finally:
            self.writer.conn.close()
