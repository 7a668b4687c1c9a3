"""Small builders for the outbox tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge.outbox import Outbox
from protocols.records import Event, ReadingBlock
from protocols.site import Outbox as OutboxSettings
from protocols.wire import ChannelMeta

TS0_MS = 1_700_000_000_000


def channels(n: int, gateway: str = "gw") -> list[ChannelMeta]:
    return [ChannelMeta(f"{gateway}/dev{i}/p", "mm", "test") for i in range(n)]


def block(first: int, n: int, nchannels: int) -> ReadingBlock:
    """``n`` readings whose values are ``first .. first+n-1``, spread over the channels in turn."""
    values = np.arange(first, first + n, dtype=np.float64)
    return ReadingBlock.of(np.arange(first, first + n) % nchannels, TS0_MS + values.astype(np.int64), values,
                           np.zeros(n, dtype=np.uint32))  # fmt: skip


def event(channel: str, value: float, level: int = 2) -> Event:
    return Event(channel, TS0_MS + int(value), "high", level, 0 if level else 1, value, f"level {level}")


def open_outbox(path: Path, **settings: Any) -> Outbox:
    kw: dict[str, Any] = {"commit_rows": 100, "commit_interval_ms": 5} | settings
    nchannels = kw.pop("nchannels", 10)
    return Outbox.open(path, OutboxSettings(**kw), channels=channels(nchannels))
