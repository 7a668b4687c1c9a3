"""Batches, events and services for the central's tests: small, explicit, deterministic."""

from __future__ import annotations

import math
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from protocols.records import Event, Forecast, ReadingBlock
from protocols.wire import Batch, ChannelMeta, SiteMeta

T0 = 1_764_370_000_000  # 2025-11-28T22:46:40Z
STEP_MS = 1000


def key(gateway: str, device: str = "dev-1", point: str = "p0") -> str:
    return f"{gateway}/{device}/{point}"


def readings_batch(
    gateway: str,
    seqs: Iterable[int],
    *,
    n_channels: int = 2,
    batch_id: int = 1,
    events: Iterable[Event] = (),
    site: SiteMeta | None = None,
    channels: Iterable[ChannelMeta] = (),
    heartbeat: dict[str, object] | None = None,
    nan_every: int = 0,
) -> Batch:
    """Readings for ``seqs``: seq s is on channel ``p{s % n_channels}`` at T0 + s s, value s (NaN and
    quality 1 every ``nan_every``-th seq)."""
    seq = np.array(sorted(seqs), dtype=np.int64)
    value = seq.astype(np.float64)
    quality = np.zeros(len(seq), dtype=np.uint32)
    if nan_every:
        void = seq % nan_every == 0
        value[void] = math.nan
        quality[void] = 1
    keys = [key(gateway, "dev-1", f"p{i}") for i in range(n_channels)]
    block = ReadingBlock.of(seq % n_channels, T0 + seq * STEP_MS, value, quality)
    return Batch(
        gateway,
        batch_id,
        T0,
        keys if len(seq) else [],
        block,
        seq,
        list(events),
        site,
        list(channels),
        heartbeat,
    )


def event(
    gateway: str,
    seq: int,
    level: int,
    previous_level: int,
    *,
    rule: str = "level",
    channel: str | None = None,
    forecast: Forecast | None = None,
    value: float = 1.0,
) -> Event:
    return Event(
        channel or key(gateway), T0 + seq * STEP_MS, rule, level, previous_level, value,
        f"{rule} {previous_level} -> {level}", forecast, seq,
    )  # fmt: skip


def events_batch(gateway: str, events: list[Event], batch_id: int = 1) -> Batch:
    return Batch(gateway, batch_id, T0, events=events)


SITE = SiteMeta("slope-north", "North pit slope", "mine_slope", 30.5, 110.3)


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` with ``options=-csearch_path=<schema>``: every table the store makes goes there."""
    parts = urlsplit(base_url)
    query = [*parse_qsl(parts.query), ("options", f"-csearch_path={schema}")]
    return urlunsplit(parts._replace(query=urlencode(query)))
