"""Outboxes with known rows, a forwarder run as a task, and bounded waiting, for the uplink tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from edge.forwarder import Forwarder
from edge.outbox import Outbox
from edge.uplink.base import Uplink
from protocols.records import Event, ReadingBlock
from protocols.site import Forwarding
from protocols.site import Outbox as OutboxSettings
from protocols.wire import ChannelMeta, SiteMeta

GATEWAY = "gw-test"
T0_MS = 1_764_370_000_000
NCHANNELS = 4
SITE = SiteMeta("site-test", "Test site", "tank_farm", 30.5, 110.3)


def channel_metas(n: int = NCHANNELS) -> list[ChannelMeta]:
    return [ChannelMeta(f"{GATEWAY}/dev{i}/p", "mm", "test", 30.5, 110.3, (0.0, 100.0)) for i in range(n)]


def open_outbox(path: Path, **settings: Any) -> Outbox:
    kw: dict[str, Any] = {"commit_rows": 100, "commit_interval_ms": 5} | settings
    return Outbox.open(path, OutboxSettings(**kw), channels=channel_metas(), site=SITE)


def readings(first_value: int, n: int) -> ReadingBlock:
    """``n`` readings with values ``first_value ..``, one per channel in turn, a second apart."""
    values = np.arange(first_value, first_value + n, dtype=np.float64)
    ts = T0_MS + values.astype(np.int64) * 1000
    return ReadingBlock.of(np.arange(n) % NCHANNELS, ts, values, np.zeros(n, dtype=np.uint32))


def alarm(value: float, level: int = 2, previous: int = 0) -> Event:
    return Event(
        f"{GATEWAY}/dev0/p", T0_MS + int(value) * 1000, "high", level, previous, value, f"level {level}"
    )


def fast_forwarding(**settings: Any) -> Forwarding:
    kw: dict[str, Any] = {"send_interval_ms": 10, "retry_max_s": 0.3, "backlog_rows_per_s": 1e6} | settings
    return Forwarding(**kw)


@contextlib.asynccontextmanager
async def forwarding(outbox: Outbox, uplink: Uplink, settings: Forwarding) -> AsyncIterator[Forwarder]:
    """A forwarder (and the uplink's connection task) running for the ``async with``."""
    forwarder = Forwarder(outbox, uplink, gateway=GATEWAY, settings=settings)
    tasks = [
        asyncio.create_task(uplink.run(), name="uplink"),
        asyncio.create_task(forwarder.run(), name="fwd"),
    ]
    try:
        yield forwarder
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await uplink.aclose()
