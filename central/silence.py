"""The silence watcher: a gateway that stops reporting raises its own alarm.

Every ``silence_check_interval_s`` the watcher asks the store for online gateways whose last batch is
older than ``silence_factor`` x their heartbeat interval (from their latest heartbeat; default
``default_heartbeat_interval_s``), marks them silent and raises the alarm ``gateway_silent`` on the
channel ``<gateway>/_gateway/_silent`` at ``silence_alarm_level``. The next batch from the gateway clears
it (in the ingest's transaction). The same check unshelves the alarms whose shelving ran out
(``central.store.handling_sql``). ``check(now_ms)`` is the whole job, callable directly in tests with any
"now"; ``run()`` repeats it and survives a failing database (logged once per failure streak).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from central.changes import ChangeHub
from central.settings import Settings
from central.store.base import Store
from central.store.records import Alarm, GatewayChange

logger = logging.getLogger(__name__)


class SilenceWatcher:
    def __init__(self, store: Store, hub: ChangeHub, settings: Settings, clock_ms: Callable[[], int]) -> None:
        self.store = store
        self.hub = hub
        self.settings = settings
        self.clock_ms = clock_ms
        self.counters = {"checks": 0, "gateways_silenced": 0, "shelves_expired": 0, "failures": 0}

    async def check(self, now_ms: int) -> tuple[list[Alarm], list[GatewayChange]]:
        s = self.settings
        alarms, changes = await self.store.call(
            self.store.check_silence,
            now_ms,
            s.silence_factor,
            s.default_heartbeat_interval_s,
            s.silence_alarm_level,
        )
        unshelved = await self.store.call(self.store.expire_shelves, now_ms)  # the same periodic chore
        alarms = [*alarms, *unshelved]
        self.counters["checks"] += 1
        self.counters["gateways_silenced"] += len(changes)
        self.counters["shelves_expired"] += len(unshelved)
        for change in changes:
            logger.warning("gateway %s is silent since %d", change.gateway_id, change.last_seen_ms)
        await self.hub.announce(alarms, changes)
        return alarms, changes

    async def run(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.settings.silence_check_interval_s)
            try:
                await self.check(self.clock_ms())
            except Exception:
                self.counters["failures"] += 1
                if not failing:
                    logger.exception(
                        "the silence check failed; retrying every %g s",
                        self.settings.silence_check_interval_s,
                    )
                failing = True
            else:
                if failing:
                    logger.info("the silence check works again")
                failing = False

    def statistics(self) -> dict[str, int]:
        return dict(self.counters)
