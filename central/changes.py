"""The live feed: alarm changes and gateway status, fanned out to every server-sent-event subscriber.

Publishing never blocks the ingest: each subscriber has a bounded queue, and a subscriber that falls
behind by a whole queue is cut off (its stream ends; the client reconnects and reads the current state
from the API). Every cut and every change is counted.

Several central processes on one PostgreSQL: ``announce`` also hands the changes to a ``relay`` (the
store's ``announce``: ``pg_notify`` on the ``fieldwatch_changes`` channel, tagged with this process's
``origin``), and ``central.relay`` listens there and ``deliver``\\s the other processes' changes to this
process's subscribers. So a command center connected to any process sees every change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from central.store.records import Alarm, GatewayChange

Item = tuple[str, dict[str, Any]]  # ("alarm" | "gateway", the change as JSON-ready data)


@dataclasses.dataclass(slots=True, eq=False)  # hashed by identity: kept in a set
class Subscription:
    queue: asyncio.Queue[Item]
    cut: bool = False


class ChangeHub:
    def __init__(self, queue_size: int, relay: Callable[[list[Item]], Awaitable[None]] | None = None) -> None:
        self.queue_size = queue_size
        self.relay = relay
        self.origin = uuid.uuid4().hex  # tells this process's notifications from the others'
        self._subscribers: set[Subscription] = set()
        self.wakers: list[asyncio.Event] = []  # set at every change: background work that waits for one
        self.counters = {
            "published": 0, "delivered": 0, "subscribers_cut": 0, "subscriptions": 0, "relayed_in": 0,
            "relay_failures": 0,
        }  # fmt: skip

    def publish(self, alarms: list[Alarm], gateways: list[GatewayChange]) -> list[Item]:
        """Deliver this process's changes to its subscribers; the items delivered."""
        items: list[Item] = [("alarm", dataclasses.asdict(a)) for a in alarms]
        items += [("gateway", dataclasses.asdict(g)) for g in gateways]
        self.counters["published"] += len(items)
        self.deliver(items)
        return items

    async def announce(self, alarms: list[Alarm], gateways: list[GatewayChange]) -> None:
        """``publish``, then tell the other central processes (if there is a relay). A relay that fails
        costs the other processes' subscribers this change, never the caller's commit."""
        items = self.publish(alarms, gateways)
        if items and self.relay is not None:
            try:
                await self.relay(items)
            except Exception:
                self.counters["relay_failures"] += 1

    def deliver(self, items: list[Item]) -> None:
        if items:
            for waker in self.wakers:
                waker.set()
        for item in items:
            for sub in list(self._subscribers):
                if sub.cut:
                    continue
                try:
                    sub.queue.put_nowait(item)
                    self.counters["delivered"] += 1
                except asyncio.QueueFull:
                    sub.cut = True
                    self.counters["subscribers_cut"] += 1
                    sub.queue.get_nowait()  # make room for the notice, so the reader stops at once
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
