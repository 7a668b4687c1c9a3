"""The pipeline: the hand-over from acquisition to detection and the outbox.

Acquisition tasks produce blocks of decoded readings and device events and hand them to a ``Sink``.
``put_*`` never blocks and never awaits: a bus task must not stall on a slow consumer. The agent's sink,
``DetectingSink``, runs detection and appends to the outbox; ``ListSink`` collects, for ``poll`` and for
tests.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Protocol

from edge.clock import Clock
from edge.detect import DetectorBank
from edge.outbox import Outbox
from protocols.records import Event, ReadingBlock

log = logging.getLogger(__name__)

DETECT_BATCH_ROWS = 2000
DETECT_INTERVAL_S = 0.1


class Sink(Protocol):
    def put_readings(self, block: ReadingBlock) -> None: ...

    def put_event(self, event: Event) -> None: ...


class ListSink:
    """Keeps everything it is given, in order."""

    def __init__(self) -> None:
        self.blocks: list[ReadingBlock] = []
        self.events: list[Event] = []

    def put_readings(self, block: ReadingBlock) -> None:
        self.blocks.append(block)

    def put_event(self, event: Event) -> None:
        self.events.append(event)

    def readings(self) -> ReadingBlock:
        return ReadingBlock.concat(self.blocks)


class DetectingSink:
    """Acquisition's sink: detection on the readings, then the readings and their events to the outbox.

    Blocks are gathered for up to ``interval_s`` (or ``batch_rows`` rows) and detected and appended as one:
    each bus read is one small block, and per-call costs (the kernels', the outbox queue's) would
    otherwise dominate. Results do not depend on how blocks are grouped; alarms wait at most
    ``interval_s`` more. A device event first flushes what came before it, so the order holds.

    A flush runs when every Modbus bus has polled what was due and sleeps (``Acquisition(on_idle=...)``):
    the buses share one poll grid, so that is a few milliseconds after they woke, in the same wake-up,
    with this instant's readings. A deadline is the bound for the rest (serial lines, a bus busy with a
    dead device's timeouts): armed by the first block gathered, on the same grid (the next multiple of
    ``interval_s`` of real time since the clock's origin, as the buses' ``BusSchedule(origin_s=0)``, so
    at most ``interval_s`` away), and cancelled by a flush that comes first. While the buses keep to their
    grid it never fires, and never wakes the process on its own.
    """

    def __init__(
        self,
        bank: DetectorBank,
        outbox: Outbox,
        *,
        clock: Clock | None = None,
        batch_rows: int = DETECT_BATCH_ROWS,
        interval_s: float = DETECT_INTERVAL_S,
    ) -> None:
        self.bank = bank
        self.outbox = outbox
        self.clock = clock or Clock()
        self.batch_rows = batch_rows
        self.interval_s = interval_s
        self.detector_errors = 0
        self.alarms_changed = asyncio.Event()  # set when a step raised, changed or cleared an alarm
        self._blocks: list[ReadingBlock] = []
        self._rows = 0
        self._deadline: asyncio.TimerHandle | None = None

    def put_readings(self, block: ReadingBlock) -> None:
        self._blocks.append(block)
        self._rows += len(block)
        if self._rows >= self.batch_rows:
            self.flush()
        elif self._deadline is None:
            self._arm()

    def _arm(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a test flushing by hand): nothing to bound
        period_s = self.interval_s * self.clock.speed  # real interval_s, in the clock's seconds
        now_s = self.clock.monotonic_s()
        next_tick_s = (math.floor(now_s / period_s) + 1) * period_s
        self._deadline = loop.call_later((next_tick_s - now_s) / self.clock.speed, self.flush)

    def put_event(self, event: Event) -> None:
        self.flush()
        self.outbox.append_event(event)

    def flush(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if not self._blocks:
            return
        block = self._blocks[0] if len(self._blocks) == 1 else ReadingBlock.concat(self._blocks)
        self._blocks, self._rows = [], 0
        events: list[Event] = []
        try:
            events = self.bank.step(block).events
        except Exception:  # detection must never cost a reading
            self.detector_errors += 1
            if self.detector_errors == 1:
                log.exception("detection failed on a block; its readings are kept (counted: errors)")
        self.outbox.append_readings(block)
        for event in events:
            self.outbox.append_event(event)
        if events:
            self.alarms_changed.set()

    async def run(self) -> None:
        """The detection task: flushes come from the buses and the deadline; at the end, drop the
        deadline (the agent flushes what is left itself)."""
        try:
            await asyncio.Future()
        finally:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
