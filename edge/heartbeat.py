"""The gateway's heartbeat: what it would say if a technician asked, sent to the central on a schedule.

Every ``heartbeat_interval_s`` (real seconds) ``Heartbeat.run`` builds a snapshot and hands it to the
forwarder, which sends it with the next batch (or alone, when there is nothing else). The snapshot::

    {"uptime_s", "version", "heartbeat_interval_s", "clock_synchronised", "produced_through",
     "incarnation",                       # the outbox's current incarnation (lineage)
     "outbox": {"rows", "readings", "events", "bytes", "page_budget_bytes", "disk_limited",
                "oldest_unacked_ms",      # age of the oldest unacknowledged row, ms (None: empty)
                "oldest_unacked_ts_ms", "pending_rows", "healthy"},
     "drops": {reason: rows},             # thinned_budget, dropped_budget, dropped_disk_full, ...
     "dead_letters": {"batches", "rows"},
     "uplink": {...},                     # the forwarder's counters and state
     "buses": {name: stats},              # acquisition
     "detector": {...}}                   # the detector bank's counters

Counters, not logs: the central stores the last heartbeat per gateway and shows it.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import time
from collections.abc import Callable
from typing import Any

from edge.clock import Clock
from edge.forwarder import Forwarder
from edge.outbox import Outbox

log = logging.getLogger(__name__)


def version() -> str:
    try:
        return importlib.metadata.version("fieldwatch")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


class Heartbeat:
    def __init__(
        self,
        *,
        clock: Clock,
        outbox: Outbox,
        forwarder: Forwarder,
        interval_s: float,
        buses: Callable[[], dict[str, Any]] = dict,
        detector: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self.clock = clock
        self.outbox = outbox
        self.forwarder = forwarder
        self.interval_s = interval_s
        self.buses = buses
        self.detector = detector
        self.version = version()
        self.started = time.monotonic()
        self.reader = outbox.reader()
        self.sent = 0

    async def run(self) -> None:
        while True:
            self.forwarder.post_heartbeat(await self.snapshot())
            self.sent += 1
            await asyncio.sleep(self.interval_s)

    def close(self) -> None:
        """Close the file reader (at shutdown: a drain still takes a last snapshot after ``run`` ends)."""
        self.reader.close()

    async def snapshot(self) -> dict[str, Any]:
        """The heartbeat now: in-memory counters on the event loop, the file's figures in a thread."""
        oldest, used, dead = await asyncio.to_thread(self._from_file)
        stats = self.outbox.statistics()
        now_ms = self.clock.now_ms()
        return {
            "uptime_s": round(time.monotonic() - self.started, 1),
            "version": self.version,
            "heartbeat_interval_s": self.interval_s,
            "clock_synchronised": self.clock.synchronised(),
            "produced_through": stats["produced_through"],
            "incarnation": self.outbox.lineage.current.id,
            "outbox": {
                "rows": stats["rows"],
                "readings": stats["readings"],
                "events": stats["events"],
                "bytes": used["total"],
                "page_budget_bytes": stats["page_budget_bytes"],
                "disk_limited": stats["disk_limited"],
                "oldest_unacked_ms": None if oldest is None else max(0, now_ms - oldest),
                "oldest_unacked_ts_ms": oldest,
                "pending_rows": stats["writer"]["pending_rows"],
                "healthy": stats["writer"]["healthy"],
            },
            "drops": stats["drops"],
            "dead_letters": dead,
            "uplink": self.forwarder.statistics(),
            "buses": self.buses(),
            "detector": self.detector(),
        }

    def _from_file(self) -> tuple[int | None, dict[str, int], dict[str, int]]:
        return self.reader.oldest_ts_ms(), self.reader.bytes_used(), self.reader.dead_letter_counts()
