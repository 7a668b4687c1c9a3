"""From outbox rows to a wire-v1 batch: what to take, in which order, and what travels with it.

``BatchBuilder.select`` takes, up to ``max_rows``:

1. every unacknowledged event, oldest first (alarms never wait behind readings);
2. the live tail: readings committed in the last ``live_window_s`` (``after live_mark``), oldest first;
3. the backlog: older readings, oldest first, no more than the rate budget allows right now.

``BatchBuilder.build`` turns the selection into a ``Batch``: readings as columns with the outbox's channel
ids mapped to the batch's ``keys``, the channel and site metadata the central has not acknowledged yet,
and the heartbeat if one is due; then JSON (orjson) and gzip (level 1) when it pays. Readings come from the
tail cache (``outbox.cache``) when it holds them, from the file otherwise. The batch declares exactly the
seqs it carries (its ``seq_ranges``), whatever gaps thinning or acks have left between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.outbox.cache import TailCache
from edge.outbox.lineage import Lineage
from edge.outbox.reader import EMPTY, MAX_SEQ, OutboxReader, StoredReadings
from edge.uplink.base import Outgoing
from protocols.records import Event, ReadingBlock
from protocols.wire import Batch, ChannelMeta, SiteMeta, compress, encode_batch, seq_ranges

GZIP_LEVEL = 1  # on a gateway CPU is dearer than the few per cent level 6 saves on these columns


@dataclass(frozen=True, slots=True)
class Selection:
    events: list[Event]
    live: StoredReadings
    backlog: StoredReadings

    @property
    def rows(self) -> int:
        return len(self.events) + len(self.live) + len(self.backlog)


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    """An encoded batch and what the forwarder must remember about it until the central answers."""

    outgoing: Outgoing
    ranges: list[tuple[int, int]]
    max_seq: int
    events: int
    readings: int
    backlog_rows: int
    channels_sent: dict[str, str] = field(default_factory=dict)  # key -> metadata hash
    site_hash_sent: str | None = None
    heartbeat: bool = False
    incarnations_sent: list[str] = field(default_factory=list)  # the ids the batch listed


class BatchBuilder:
    def __init__(
        self,
        reader: OutboxReader,
        gateway: str,
        *,
        channels: dict[str, ChannelMeta],
        channel_hashes: dict[str, str],
        site: SiteMeta | None = None,
        site_hash: str = "",
        cache: TailCache | None = None,
        lineage: Lineage | None = None,
    ) -> None:
        self.reader = reader
        self.lineage = lineage
        self.cache = cache
        self.cache_hits = 0
        self.gateway = gateway
        self.channels = channels
        self.channel_hashes = channel_hashes
        self.site = site
        self.site_hash = site_hash
        self.metadata_acked = False  # set once the central has seen every channel's and the site's metadata

    def select(
        self, max_rows: int, live_mark: int, backlog_allowed: int, *, has_events: bool = True
    ) -> Selection:
        events = self.reader.events(limit=max_rows) if has_events else []
        room = max_rows - len(events)
        live = self._readings(live_mark, MAX_SEQ, room) if room > 0 else EMPTY
        room -= len(live)
        allowed = min(room, backlog_allowed)
        backlog = self._readings(0, live_mark, allowed) if allowed > 0 else EMPTY
        return Selection(events, live, backlog)

    def _readings(self, after_seq: int, through_seq: int, limit: int) -> StoredReadings:
        """From the tail cache when it holds the answer (the live tail, usually), else from the file."""
        if self.cache is not None:
            cached = self.cache.readings(after_seq, through_seq, limit)
            if cached is not None:
                self.cache_hits += 1
                return cached
        return self.reader.readings(after_seq, through_seq, limit)

    def build(
        self, selection: Selection, *, batch_id: int, sent_ms: int, heartbeat: dict[str, Any] | None
    ) -> PlannedBatch:
        parts = [p for p in (selection.backlog, selection.live) if len(p)]
        seq = np.concatenate([p.seq for p in parts]) if parts else np.empty(0, dtype=np.int64)
        block = ReadingBlock.concat([p.block for p in parts])
        keys: list[str] = []
        if len(block):
            ids, index = _dense(block.channel)
            key_of = self.reader.channel_keys(ids)
            keys = [key_of[i] for i in ids.tolist()]
            block = ReadingBlock(index, block.ts_ms, block.value, block.quality)
        channels_sent, site_hash_sent, site = self._metadata()
        batch = Batch(
            gateway=self.gateway, batch_id=batch_id, sent_ms=sent_ms, keys=keys, readings=block,
            reading_seq=seq, events=selection.events, site=site,
            channels=[self.channels[k] for k in channels_sent], heartbeat=heartbeat,
        )  # fmt: skip
        seqs = batch.seqs() if selection.events else seq  # readings: backlog then live, each in order
        if self.lineage is not None:
            batch.incarnations = self.lineage.listed(seqs)
        payload, gzipped = compress(encode_batch(batch), level=GZIP_LEVEL)
        ranges = seq_ranges(seqs)
        return PlannedBatch(
            outgoing=Outgoing(batch_id, payload, gzipped, batch.row_count, tuple(ranges)),
            ranges=ranges,
            max_seq=int(seqs[-1]) if len(seqs) else 0,
            events=len(selection.events),
            readings=len(block),
            backlog_rows=len(selection.backlog),
            channels_sent=channels_sent,
            site_hash_sent=site_hash_sent,
            heartbeat=heartbeat is not None,
            incarnations_sent=[i.id for i in batch.incarnations],
        )

    def _metadata(self) -> tuple[dict[str, str], str | None, SiteMeta | None]:
        """The channel and site metadata the central has not acknowledged (until it has all of it)."""
        if self.metadata_acked:
            return {}, None, None
        unacked = self.reader.unacked_channels()
        channels = {k: h for k, h in unacked.items() if self.channel_hashes.get(k) == h}
        site_unacked = self.site is not None and self.reader.meta().get("site_acked_hash") != self.site_hash
        if not channels and not site_unacked:
            self.metadata_acked = True
            return {}, None, None
        return channels, (self.site_hash if site_unacked else None), (self.site if site_unacked else None)


def _dense(channel: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int32]]:
    """``(ids, index)``: the distinct outbox ids in ascending order, and each reading's place among them
    (``np.unique(..., return_inverse=True)`` without its sort: outbox ids are small integers)."""
    present = np.zeros(int(channel.max()) + 1, dtype=bool)
    present[channel] = True
    ids = np.flatnonzero(present)
    place = np.cumsum(present, dtype=np.int32) - 1
    return ids, place[channel]
