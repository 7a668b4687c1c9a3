"""The newest committed readings, kept in memory so the forwarder's live tail needs no read-back.

While the uplink keeps up, every reading is sent seconds after its commit. Reading it back from SQLite
(fetch, a Python tuple per row, back to numpy) would cost about as much as writing it; the writer hands
each committed block to this cache instead, as the numpy columns it already has.

The cache answers ``readings(after, through, limit)`` exactly as the table would, or not at all (None):
it holds a run of the newest readings such that every reading in the table with ``seq >= start`` is in
the cache. Adding keeps that true (seqs grow); dropping the oldest chunk past ``max_rows`` moves
``start``; acknowledged and dead-lettered ranges are removed from both; an eviction (thinning, dropping)
empties the cache, so a row the budget gave up is never sent from memory. A question that reaches
below ``start`` (the backlog) goes to SQLite. Thread-safe: the writer adds and removes, the forwarder
reads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from edge.outbox.blocks import EMPTY, StoredReadings, take
from protocols.records import ReadingBlock

DEFAULT_MAX_ROWS = 50_000  # about 1.6 MB of columns


class TailCache:
    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._chunks: list[StoredReadings] = []
        self._rows = 0
        self.start: int | None = None  # every table reading with seq >= start is here

    def add(self, seq: npt.NDArray[np.int64], block: ReadingBlock) -> None:
        """Readings just committed (``block.channel``: outbox channel ids), seqs above all before."""
        if len(seq) == 0:
            return
        with self._lock:
            if self.start is None:
                self.start = int(seq[0])
            self._chunks.append(StoredReadings(seq, block))
            self._rows += len(seq)
            while self._rows > self.max_rows and len(self._chunks) > 1:
                dropped = self._chunks.pop(0)
                self._rows -= len(dropped)
                self.start = int(self._chunks[0].seq[0]) if len(self._chunks[0]) else int(dropped.seq[-1]) + 1

    def readings(self, after_seq: int, through_seq: int, limit: int) -> StoredReadings | None:
        """As ``OutboxReader.readings``; None when the answer may hold rows older than the cache."""
        with self._lock:
            if self.start is None or after_seq + 1 < self.start:
                return None
            parts: list[StoredReadings] = []
            taken = 0
            for chunk in self._chunks:
                if taken >= limit:
                    break
                if len(chunk) == 0 or chunk.seq[-1] <= after_seq or chunk.seq[0] > through_seq:
                    continue
                keep = (chunk.seq > after_seq) & (chunk.seq <= through_seq)
                part = take(chunk, np.flatnonzero(keep)[: limit - taken])
                parts.append(part)
                taken += len(part)
        if not parts:
            return EMPTY
        return StoredReadings(
            np.concatenate([p.seq for p in parts]), ReadingBlock.concat([p.block for p in parts])
        )

    def remove(self, ranges: Sequence[tuple[int, int]]) -> None:
        """Rows deleted from the table (acknowledged, dead-lettered) leave the cache too."""
        if not ranges:
            return
        with self._lock:
            kept = []
            for chunk in self._chunks:
                gone = np.zeros(len(chunk), dtype=bool)
                for a, b in ranges:
                    gone |= (chunk.seq >= a) & (chunk.seq <= b)
                left = take(chunk, np.flatnonzero(~gone)) if gone.any() else chunk
                self._rows -= len(chunk) - len(left)
                if len(left):
                    kept.append(left)
            self._chunks = kept

    def clear(self) -> None:
        """Forget everything (after an eviction); the next ``add`` starts a new run."""
        with self._lock:
            self._chunks = []
            self._rows = 0
            self.start = None

    @property
    def rows(self) -> int:
        return self._rows
