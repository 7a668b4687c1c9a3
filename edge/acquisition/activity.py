"""What the Modbus bus tasks share: their alarm clock, and whether they are all asleep.

The buses poll on one grid (``BusSchedule(origin_s=0)``), so at a poll instant they all wake, poll, and
go back to sleep within a few milliseconds. Two things follow from that:

- ``sleep_until``: buses due at the same instant share one timer (one event-loop timer and callback
  wakes them all) instead of one each;
- ``on_idle``: when the last of them goes back to sleep, everything that instant's polls brought is in
  the sink, and the agent acts on it then (``BusActivity``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from edge.acquisition.modbus_client import ReadDeadlines
from edge.clock import Clock

log = logging.getLogger(__name__)


class BusActivity:
    """How many Modbus bus tasks are awake; ``on_idle()`` runs when the last of them goes to sleep.

    The buses share one poll grid, so they wake together, poll, and go back to sleep within a few
    milliseconds. The moment the last one sleeps, everything this instant's polls brought is in the
    sink: the agent detects and stores it then (one flush, in the same wake-up as the polls, with nothing
    left to run on the event loop while the outbox writer commits it) instead of waiting for a timer.
    """

    def __init__(self, on_idle: Callable[[], None] | None = None) -> None:
        self.on_idle = on_idle
        self.awake = 0
        self.failures = 0
        self._alarms: dict[float, list[asyncio.Future[None]]] = {}
        self.deadlines = ReadDeadlines()  # the buses' reads share their timeout timers too

    async def sleep_until(self, clock: Clock, due_s: float) -> None:
        """Sleep until ``due_s`` of ``clock``'s monotonic time; sleepers of the same instant share a timer."""
        loop = asyncio.get_running_loop()
        waiters = self._alarms.get(due_s)
        if waiters is None:
            waiters = self._alarms[due_s] = []
            loop.call_later(max(0.0, due_s - clock.monotonic_s()) / clock.speed, self._ring, due_s)
        future: asyncio.Future[None] = loop.create_future()
        waiters.append(future)
        await future

    def _ring(self, due_s: float) -> None:
        for future in self._alarms.pop(due_s, ()):
            if not future.done():  # a sleeper cancelled meanwhile
                future.set_result(None)

    def waking(self) -> None:
        self.awake += 1

    def sleeping(self) -> None:
        self.awake -= 1
        if self.awake == 0 and self.on_idle is not None:
            try:
                self.on_idle()
            except Exception:  # the consumer's trouble must not stop the bus that happened to call it
                self.failures += 1
                log.log(
                    logging.ERROR if self.failures == 1 else logging.DEBUG, "on_idle failed", exc_info=True
                )

    def leaving(self) -> None:
        """A task that was awake ends (cancelled, or failed and to be restarted): no ``on_idle`` for it."""
        self.awake -= 1
