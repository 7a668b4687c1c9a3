"""The forwarder: oldest unacknowledged rows out through the uplink, deleted only on the central's ack.

One batch is in flight at a time (stop and wait): the central acknowledges after commit, so the next
selection never races an ack. Each round:

1. **pace**: wait until something is worth sending: an event (at once), a full batch, a heartbeat, or
   readings that have waited ``send_interval_ms``. The outbox's writer notes each commit (for the live
   mark) on its own thread and wakes the event loop only when that commit is worth a look now: it holds
   an event, it fills a batch, or the forwarder is idle waiting for rows. A commit of plain readings
   while readings already wait for their send interval wakes nobody (a wake-up per commit costs the
   gateway more CPU than the rows);
2. **select and build** (in a worker thread, ``outbox.batches``): events, then the live tail (rows
   committed in the last ``live_window_s``), then the backlog oldest first within a token bucket of
   ``backlog_rows_per_s``, so a week of backlog never delays today's alarms;
3. **make durable**: at ``synchronous=normal`` the WAL is fsynced before the central may see a seq;
4. **send** and act on the answer:

   - committed: delete exactly ``ack.committed`` (and note the metadata the batch carried as seen);
   - refused (4xx malformed, ``ack.error``): move the batch to the dead-letter table, counted, reported;
   - network error, timeout, 5xx: capped, jittered exponential backoff (``retry_max_s``);
   - 401/403: a configuration problem: logged once as an error, retried at the backoff's cap;
   - 413: halve the batch (and grow it back after successes).

An ack that arrives for no batch in flight (MQTT after a restart) is applied all the same: the central
has committed those rows. Wire time is real time: backoff and pacing do not follow the clock's speed.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from edge.forwarder.batches import BatchBuilder, PlannedBatch
from edge.outbox import Outbox, meta_hash
from edge.uplink.base import AuthError, NotDeliveredError, TooLargeError, TransientError, Uplink
from protocols.backoff import Backoff
from protocols.site import Forwarding
from protocols.wire import Ack

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 0.5
BACKOFF_JITTER = 0.5
IDLE_CHECK_S = 1.0  # the pacing loop looks at the outbox at least this often


class Forwarder:
    def __init__(
        self,
        outbox: Outbox,
        uplink: Uplink,
        *,
        gateway: str,
        settings: Forwarding | None = None,
        now_ms: Callable[[], int] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self.uplink = uplink
        self.gateway = gateway
        self.settings = settings or Forwarding()
        self.now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self.rng = rng or random.Random()
        self.reader = outbox.reader()
        self.builder = BatchBuilder(
            self.reader, gateway, channels=outbox.channels,
            channel_hashes={k: meta_hash(c) for k, c in outbox.channels.items()},
            site=outbox.site, site_hash=outbox.site_hash, cache=outbox.tail, lineage=outbox.lineage,
        )  # fmt: skip
        self.max_rows = self.settings.max_batch_rows
        self.counters: Counter[str] = Counter()
        self.heartbeat: dict[str, Any] | None = None
        self.last_error = ""
        self.error_since_ms: int | None = None
        self.backoff_s = 0.0
        self._failures = 0
        self._auth_logged = False
        self._ok_recorded = False  # the first delivery of a run records "ok" for the status command
        self._tokens = float(min(self.max_rows, self.settings.backlog_rows_per_s))
        self._tokens_at = time.monotonic()
        self._last_send = 0.0
        self._wake = asyncio.Event()
        self._wake_on_commit = True  # idle: the next commit is worth a look at once
        self._commits_lock = threading.Lock()  # the writer thread appends, the event loop reads
        self._commits: deque[tuple[float, int]] = deque([(time.monotonic(), outbox.produced_through)])
        self._batch_counter = 0
        self._generation = 0  # the outbox's eviction generation when the batch being planned was selected
        uplink.on_stray_ack = self._stray_ack

    # ------------------------------------------------------------------ inputs (event loop thread)

    def committed(self, produced_through: int) -> None:
        """The outbox committed rows through ``produced_through`` (any thread: the writer calls it)."""
        now = time.monotonic()
        horizon = now - self.settings.live_window_s
        with self._commits_lock:
            self._commits.append((now, produced_through))
            while len(self._commits) > 1 and self._commits[1][0] <= horizon:
                self._commits.popleft()

    def _worth_waking(self) -> bool:
        """After a commit (writer thread): should the forwarder look now rather than at its own time?"""
        box = self.outbox
        return self._wake_on_commit or box.waiting_events > 0 or box.waiting_readings >= self.max_rows

    def post_heartbeat(self, heartbeat: dict[str, Any]) -> None:
        self.heartbeat = heartbeat
        self._wake.set()

    def live_mark(self) -> int:
        """Rows with a seq above this were committed within ``live_window_s``; the rest are backlog."""
        horizon = time.monotonic() - self.settings.live_window_s
        with self._commits_lock:
            times = [t for t, _ in self._commits]
            i = bisect.bisect_right(times, horizon)
            return self._commits[max(0, i - 1)][1]

    # ------------------------------------------------------------------ the loop

    async def run(self) -> None:
        loop = asyncio.get_running_loop()

        def from_writer(through: int) -> None:
            self.committed(through)
            if self._worth_waking():
                loop.call_soon_threadsafe(self._wake.set)

        self.outbox.on_commit(from_writer)
        try:
            while True:
                await self._pace()
                planned = await asyncio.to_thread(self._plan)
                if planned is None:
                    await self._wait_for_tokens()
                    continue
                await self._deliver(planned)
        finally:
            self.reader.close()

    async def _pace(self) -> None:
        interval_s = self.settings.send_interval_ms / 1000
        while True:
            box = self.outbox  # its counts change under us (the writer thread): read each where it is used
            waited = time.monotonic() - self._last_send
            if box.waiting_events or self.heartbeat is not None or box.waiting_readings >= self.max_rows:
                return
            if box.waiting_readings and waited >= interval_s:
                return
            self._wake.clear()
            self._wake_on_commit = not box.waiting_readings
            timeout = IDLE_CHECK_S if not box.waiting_readings else min(IDLE_CHECK_S, interval_s - waited)
            try:
                async with asyncio.timeout(max(0.001, timeout)):
                    await self._wake.wait()
            except TimeoutError:
                pass
            finally:
                self._wake_on_commit = False

    def _plan(self) -> PlannedBatch | None:
        """Select and encode the next batch (worker thread); None when nothing may go now."""
        self._refill_tokens()
        self._generation = self.outbox.inflight.generation  # before selecting (``Outbox.sending``)
        has_events = self.outbox.waiting_events > 0
        selection = self.builder.select(
            self.max_rows, self.live_mark(), self._backlog_allowed(), has_events=has_events
        )
        heartbeat = self.heartbeat
        if selection.rows == 0 and heartbeat is None:
            return None
        self._batch_counter += 1
        batch_id = (self.outbox.boots << 32) | (self._batch_counter & 0xFFFFFFFF)
        return self.builder.build(selection, batch_id=batch_id, sent_ms=self.now_ms(), heartbeat=heartbeat)

    async def _deliver(self, planned: PlannedBatch) -> None:
        # an alarm goes at once; readings may wait for the commit the outbox makes anyway (<= 200 ms)
        sending = self.outbox.sending(planned.ranges, self._generation, urgent=planned.events > 0)
        if sending is None:  # the budget evicted rows meanwhile, maybe some of these: select again
            self.counters["selections_evicted"] += 1
            return
        await asyncio.wrap_future(sending)  # in flight, durably (and at synchronous=normal, made durable)
        self._last_send = time.monotonic()
        self.counters["batches_sent"] += 1
        self.counters["bytes_sent"] += len(planned.outgoing.payload)
        try:
            ack = await self.uplink.send(planned.outgoing)
        except TooLargeError as e:
            self.outbox.release(planned.ranges)
            self.counters["too_large"] += 1
            self.max_rows = max(1, planned.outgoing.rows // 2)
            log.warning("batch of %d rows too large (%s); now %d", planned.outgoing.rows, e, self.max_rows)
            return
        except AuthError as e:
            self.outbox.release(planned.ranges)
            self.counters["auth_errors"] += 1
            if not self._auth_logged:
                log.error("the central refuses this gateway's credentials: %s (retrying slowly)", e)
                self._auth_logged = True
            await self._failed(str(e), cap=True)
            return
        except TransientError as e:
            if isinstance(e, NotDeliveredError):
                self.outbox.release(planned.ranges)
            else:  # the central may have it: the rows stay in flight until an ack names them
                self.counters["in_doubt"] += 1
            self.counters["transient_errors"] += 1
            await self._failed(str(e))
            return
        if planned.heartbeat:
            self.heartbeat = None
            self.counters["heartbeats_sent"] += 1
        if ack.refused:
            await self._dead_letter(planned, ack)
        else:
            await self._committed(planned, ack)
        self._recovered()

    async def _committed(self, planned: PlannedBatch, ack: Ack) -> None:
        # Not urgent: while readings flow the delete rides with their next commit (no fsync of its own,
        # and its completion reaches us while the loop is awake for the polls anyway); when none flow
        # (a backlog draining) it is committed at once.
        result = await asyncio.wrap_future(
            self.outbox.acknowledge(
                ack.committed, acked_through=ack.acked_through, now_ms=self.now_ms(),
                channels_acked=planned.channels_sent, site_acked=planned.site_hash_sent,
                incarnations_acked=planned.incarnations_sent, urgent=False,
            )
        )  # fmt: skip
        self.outbox.lineage.acknowledged(planned.incarnations_sent)
        self.counters["batches_acked"] += 1
        self.counters["rows_acked"] += result.readings_removed + result.events_removed
        self.counters["events_acked"] += result.events_removed
        self._tokens -= planned.backlog_rows
        if self.max_rows < self.settings.max_batch_rows:
            self.max_rows = min(self.settings.max_batch_rows, self.max_rows * 2)
        if planned.channels_sent or planned.site_hash_sent:
            self.builder.metadata_acked = False  # look again: maybe it is all acknowledged now

    async def _dead_letter(self, planned: PlannedBatch, ack: Ack) -> None:
        await asyncio.wrap_future(
            self.outbox.dead_letter(
                planned.ranges, batch_id=planned.outgoing.batch_id, error=ack.error or "refused",
                payload=planned.outgoing.payload, now_ms=self.now_ms(),
            )
        )  # fmt: skip
        self.counters["dead_letters"] += 1
        self.counters["dead_letter_rows"] += planned.outgoing.rows
        log.error(
            "the central refused batch %d (%d rows) as malformed: %s; kept in the dead-letter table",
            planned.outgoing.batch_id,
            planned.outgoing.rows,
            ack.error,
        )

    def _stray_ack(self, ack: Ack) -> None:
        """An ack for no batch in flight: its committed rows are at the central, so delete them."""
        self.counters["stray_acks"] += 1
        if ack.committed and not ack.refused:
            self.outbox.acknowledge(
                ack.committed, acked_through=ack.acked_through, now_ms=self.now_ms(), urgent=False
            )

    # ------------------------------------------------------------------ backoff and the rate budget

    async def _failed(self, error: str, *, cap: bool = False) -> None:
        self._failures += 1
        cap_s = self.settings.retry_max_s
        backoff = Backoff(min(BACKOFF_FIRST_S, cap_s), cap_s, BACKOFF_JITTER)
        self.backoff_s = backoff.capped_s(self.rng) if cap else backoff.delay_s(self._failures, self.rng)
        if self.error_since_ms is None:
            self.error_since_ms = self.now_ms()
            log.warning("uplink %s: %s; retrying with backoff", self.uplink.name, error)
            state = {"uplink_state": "failing", "uplink_error": error}
            self.outbox.record({**state, "uplink_error_since_ms": self.error_since_ms})
        self.last_error = error
        await asyncio.sleep(self.backoff_s)

    def _recovered(self) -> None:
        if self.error_since_ms is not None or not self._ok_recorded:
            if self.error_since_ms is not None:
                log.info("uplink %s: delivering again", self.uplink.name)
            self.outbox.record({"uplink_state": "ok", "uplink_error": "", "uplink_error_since_ms": None})
            self._ok_recorded = True
        self._failures = 0
        self.backoff_s = 0.0
        self.error_since_ms = None
        self._auth_logged = False

    def _refill_tokens(self) -> None:
        now = time.monotonic()
        rate = self.settings.backlog_rows_per_s
        burst = max(rate, float(self.max_rows))
        self._tokens = min(burst, self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now

    def _backlog_step(self) -> float:
        """The backlog goes in steps of a second's budget (or a full batch): not a trickle of tiny
        batches as the tokens come in."""
        return float(min(self.max_rows, max(1.0, self.settings.backlog_rows_per_s)))

    def _backlog_allowed(self) -> int:
        """Backlog rows the next batch may carry: the tokens, once they make a step (or ride with
        live rows and events, whatever the tokens allow)."""
        return int(self._tokens) if self._tokens >= self._backlog_step() or self._live_waiting() else 0

    def _live_waiting(self) -> bool:
        return self.outbox.waiting_events > 0 or self.outbox.produced_through > self.live_mark()

    async def _wait_for_tokens(self) -> None:
        """Nothing may go now: only backlog is left and its budget has not made a step yet (wait for
        it), or nothing is left at all (wait for a commit)."""
        rate = self.settings.backlog_rows_per_s
        missing = self._backlog_step() - self._tokens
        timeout_s = IDLE_CHECK_S if missing <= 0 else min(IDLE_CHECK_S, missing / rate)
        self._wake.clear()
        self._wake_on_commit = True
        try:
            async with asyncio.timeout(max(0.01, timeout_s)):
                await self._wake.wait()
        except TimeoutError:
            pass
        finally:
            self._wake_on_commit = False

    # ------------------------------------------------------------------ statistics

    def statistics(self) -> dict[str, Any]:
        return {
            **self.counters,
            "uplink": self.uplink.name,
            "max_batch_rows": self.max_rows,
            "backoff_s": round(self.backoff_s, 3),
            "failing_since_ms": self.error_since_ms,
            "last_error": self.last_error,
            "live_mark": self.live_mark(),
            "transport": self.uplink.statistics(),
        }
