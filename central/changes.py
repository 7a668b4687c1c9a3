"""The live feed: alarm changes and gateway status, fanned out to every server-sent-event subscriber.

Publishing never blocks the ingest: each subscriber has a bounded queue, and a subscriber that falls
behind by a whole queue is cut off (its stream ends; the client reconnects and reads the current state
from the API). Every cut and every change is counted.

With several central processes on one PostgreSQL, each process feeds its own subscribers with the
changes it made itself; a command center that must see every change connects to each process or reads
``/api/v1/alarms?since_ms=...`` as a fallback (see docs/api.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from central.store.rows import Alarm, GatewayChange


@dataclasses.dataclass(slots=True, eq=False)  # hashed by identity: kept in a set
class Subscription:
    queue: asyncio.Queue[tuple[str, dict[str, Any]]]
    cut: bool = False


class ChangeHub:
    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self.counters = {"published": 0, "delivered": 0, "subscribers_cut": 0, "subscriptions": 0}

    def publish(self, alarms: list[Alarm], gateways: list[GatewayChange]) -> None:
        items = [("alarm", dataclasses.asdict(a)) for a in alarms]
        items += [("gateway", dataclasses.asdict(g)) for g in gateways]
        for item in items:
            self.counters["published"] += 1
            for sub in list(self._subscribers):
                if sub.cut:
                    continue
                try:
                    sub.queue.put_nowait(item)
                    self.counters["delivered"] += 1
                except asyncio.QueueFull:
                    sub.cut = True
                    self.counters["subscribers_cut"] += 1
                    # wake the reader so it notices at once
                    sub.queue.get_nowait()
                    sub.queue.put_nowait(("cut", {}))

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        sub = Subscription(asyncio.Queue(maxsize=self.queue_size))
        self._subscribers.add(sub)
        self.counters["subscriptions"] += 1
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    def statistics(self) -> dict[str, int]:
        return {**self.counters, "subscribers": len(self._subscribers)}
