"""Changes made by the other central processes on one database, delivered to this one's subscribers.

Each process announces its alarm and gateway changes through its store (``Store.announce``, after the commit;
on PostgreSQL ``pg_notify`` on ``fieldwatch_changes``) and listens to the store's change feed here
(``Store.change_feed``, on a connection of its own). Its own notifications (same ``origin``) are skipped: they
were delivered locally already. A change too large for a notification travels as a reference and is read back
from the store. The listener reconnects with capped, jittered backoff; changes announced while it is away are
not replayed (subscribers read the state from the API when they reconnect, as after any cut).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random

import orjson

from central.changes import ChangeHub
from central.store.base import ChangeFeed, FeedLostError, NotFoundError, Store
from protocols.backoff import Backoff

logger = logging.getLogger(__name__)

RECONNECT = Backoff(first_s=0.5, max_s=30.0, jitter=0.5)


class ChangeRelay:
    def __init__(self, feed: ChangeFeed, hub: ChangeHub, store: Store) -> None:
        self.feed = feed
        self.hub = hub
        self.store = store
        self.listening = asyncio.Event()
        self.counters = {"received": 0, "own_skipped": 0, "delivered": 0, "bad": 0, "reconnects": 0}

    async def run(self) -> None:
        failures = 0
        rng = random.Random()
        while True:
            try:
                async with self.feed.listen() as payloads:
                    self.listening.set()
                    failures = 0
                    async for payload in payloads:
                        await self._deliver(payload)
            except FeedLostError as e:
                self.listening.clear()
                self.counters["reconnects"] += 1
                failures += 1
                delay_s = RECONNECT.delay_s(failures, rng)
                (logger.warning if failures == 1 else logger.debug)(
                    "change relay: %s; listening again in %.1f s", e, delay_s
                )
                await asyncio.sleep(delay_s)

    async def _deliver(self, payload: str) -> None:
        self.counters["received"] += 1
        try:
            note = orjson.loads(payload)
            if note["origin"] == self.hub.origin:
                self.counters["own_skipped"] += 1
                return
            kind, data = str(note["kind"]), note.get("data")
            if data is None:  # too large to travel: read it back
                detail = await self.store.call(self.store.alarm, int(note["ref"]))
                data = dataclasses.asdict(detail.alarm)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, NotFoundError):
            self.counters["bad"] += 1
            return
        self.hub.deliver([(kind, data)])
        self.hub.counters["relayed_in"] += 1
        self.counters["delivered"] += 1

    def statistics(self) -> dict[str, int | bool]:
        return {**self.counters, "listening": self.listening.is_set()}
