"""Rows the central may have committed without the outbox knowing it yet: the byte budget leaves them be.

Accounting must be exact: every row ends up stored at the central, counted as dropped, or still waiting,
never two of these. A row the budget evicted while its batch was on its way, and that the central then
committed, would be both stored and dropped. So the forwarder registers each batch's seq ranges here
before it sends the batch (``begin``), and they stay *in flight* until the answer settles them: an ack
(the rows are deleted as stored) or a dead letter in the same transaction, or a failure that proves the
batch never arrived (``settle`` at once). A batch whose answer never came (a timeout, a connection lost
after sending, an MQTT ack that did not come in time) stays in flight, *in doubt*, until an ack that names
its rows (a resend, or the late ack itself) settles them; they are the oldest rows, so they are resent.

``begin`` refuses when an eviction started since the forwarder began selecting its batch (``generation``),
or is still under way: the selection may hold rows the eviction is giving up (read before its deletes
committed, or from the tail cache before it was cleared), and the forwarder selects again. An eviction
moves the generation on twice, when it begins (``evicting``) and once its deletes have committed
(``evicted``), so a selection made while it ran never passes. The ranges are
kept in ``meta.in_flight`` too, written before the batch leaves, so a crash, the restart and an eviction
before the resend cannot turn a committed row into a dropped one either.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
import orjson

Range = tuple[int, int]


def merge(ranges: list[Range]) -> list[Range]:
    out: list[Range] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(ranges: list[Range], gone: list[Range]) -> list[Range]:
    """``ranges`` without the seqs of ``gone`` (both sorted and merged)."""
    out: list[Range] = []
    for a, b in ranges:
        pieces = [(a, b)]
        for c, d in gone:
            if d < a or c > b:
                continue
            pieces = [p for x, y in pieces for p in ((x, min(y, c - 1)), (max(x, d + 1), y)) if p[0] <= p[1]]
        out += pieces
    return out


def within(seqs: npt.NDArray[np.int64], ranges: list[Range]) -> npt.NDArray[np.bool_]:
    """A mask over ``seqs``: True where the seq is in one of the (sorted, merged) ``ranges``."""
    if not ranges:
        return np.zeros(len(seqs), dtype=np.bool_)
    starts = np.array([a for a, _ in ranges], dtype=np.int64)
    ends = np.array([b for _, b in ranges], dtype=np.int64)
    i = np.searchsorted(starts, seqs, side="right") - 1
    return (i >= 0) & (seqs <= ends[np.maximum(i, 0)])


class InFlight:
    def __init__(self, ranges: list[Range] | None = None) -> None:
        self._lock = threading.Lock()
        self._ranges = merge(ranges or [])
        self.generation = 0  # moved on when an eviction begins and again when it has ended
        self._evicting = False

    def begin(self, ranges: list[Range], generation: int) -> bool:
        """Register a batch about to leave; False when an eviction began since ``generation`` was read."""
        with self._lock:
            if generation != self.generation or self._evicting:
                return False
            self._ranges = merge(self._ranges + list(ranges))
            return True

    def settle(self, ranges: list[Range] | tuple[Range, ...]) -> None:
        """These rows are stored, dead-lettered, or certainly never arrived: no longer in flight."""
        if not ranges:
            return
        with self._lock:
            self._ranges = subtract(self._ranges, merge(list(ranges)))

    def evicting(self) -> list[Range]:
        """An eviction begins: what it must leave alone (and no selection begun before it may be sent)."""
        with self._lock:
            self.generation += 1
            self._evicting = True
            return list(self._ranges)

    def evicted(self) -> None:
        """The eviction's deletes have committed and no copy of its rows is left in memory."""
        with self._lock:
            self.generation += 1
            self._evicting = False

    def ranges(self) -> list[Range]:
        with self._lock:
            return list(self._ranges)

    def to_json(self) -> str:
        return orjson.dumps(self.ranges()).decode()

    @classmethod
    def from_json(cls, text: object) -> InFlight:
        try:
            loaded = orjson.loads(text) if isinstance(text, str) else []
            return cls([(int(a), int(b)) for a, b in loaded])
        except (orjson.JSONDecodeError, TypeError, ValueError):
            return cls()
