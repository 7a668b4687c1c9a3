"""Retention of raw readings: those older than ``retention_days`` are deleted now and then.

Latest values, alarms and their timelines stay. The delete runs one channel at a time in short
transactions, so ingest is never held up for long. With no ``retention_days`` nothing is deleted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from central.store.base import Store

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000


class Retention:
    def __init__(
        self, store: Store, retention_days: float, interval_s: float, clock_ms: Callable[[], int]
    ) -> None:
        self.store = store
        self.retention_days = retention_days
        self.interval_s = interval_s
        self.clock_ms = clock_ms
        self.counters = {"runs": 0, "readings_deleted": 0, "failures": 0}

    async def purge(self, now_ms: int) -> int:
        cutoff_ms = now_ms - int(self.retention_days * DAY_MS)
        removed = await self.store.call(self.store.purge_readings, cutoff_ms)
        self.counters["runs"] += 1
        self.counters["readings_deleted"] += removed
        if removed:
            logger.info("retention: deleted %d readings older than %d", removed, cutoff_ms)
        return removed

    async def run(self) -> None:
        while True:
            try:
                await self.purge(self.clock_ms())
            except Exception:
                self.counters["failures"] += 1
                logger.exception("retention purge failed; trying again in %g s", self.interval_s)
            await asyncio.sleep(self.interval_s)

    def statistics(self) -> dict[str, int]:
        return dict(self.counters)
