"""One schedule per bus: every request at its own poll interval, merged, and never a backlog.

Each request has a due time on a fixed grid (start + k x interval). ``next_due()`` names the request due
first (ties go to the one listed first, so equal intervals poll round-robin in plan order); the bus task
awaits that time, polls, and calls ``done(index, now_s, started_s)``. The request's next slot is the next
grid point after the one just served (the latest one at or before the poll's start). When the bus
overran and that slot, and maybe later ones, are already in the past, only the latest past slot is kept
(it runs at once, late) and the earlier ones are skipped and counted: an overloaded bus runs every
request as often as it can, oldest first, and never replays missed cycles. ``park(index, until_s)``
moves a request past a time without polling it (an offline device).

``origin_s`` puts the grid on a shared timeline: slots at ``origin + k x interval``, the first one the
latest at or before ``start_s`` (so every request still polls at once). The agent gives every bus the
clock's origin, so buses with equal intervals come due at the same instants and the process wakes once
per instant, not once per bus: on a small gateway a wake-up costs more CPU than the poll it serves.

Pure (no clock, no asyncio): times are plain floats, the caller's monotonic seconds.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

SERVES_NEXT_S = 0.01  # a poll that began this close before a slot's time (at most interval / 10) serves it


class BusSchedule:
    def __init__(self, intervals_s: Sequence[float], start_s: float, origin_s: float | None = None) -> None:
        if any(not (i > 0 and math.isfinite(i)) for i in intervals_s):
            raise ValueError(f"poll intervals must be finite and > 0 (got {list(intervals_s)})")
        self.intervals_s = tuple(intervals_s)
        self.origin_s = start_s if origin_s is None else origin_s
        self.skipped_slots = 0
        # Slot numbers, not accumulated times: origin + k x interval never drifts with float rounding.
        self._slot = [math.floor((start_s - self.origin_s) / i) for i in self.intervals_s]
        self._heap = [(self.due_of(i), i) for i in range(len(self.intervals_s))]
        heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self.intervals_s)

    def next_due(self) -> tuple[int, float]:
        """``(request index, due time)`` of the request due first. The schedule must not be empty."""
        due, index = self._heap[0]
        return index, due

    def done(self, index: int, now_s: float, started_s: float | None = None) -> None:
        """Request ``index`` was served (or given up) at ``now_s``: move it to its next slot.

        ``started_s``: when the poll began. A poll that began after a later slot's time, or just before
        it (``SERVES_NEXT_S``), served that slot too: one read, not two back to back within a millisecond
        (a bus that starts just before a grid point polls the slot before at once, late, and would
        otherwise poll again at once, or a millisecond later, for the slot it is about to pass)."""
        interval_s = self.intervals_s[index]
        following = self._slot[index] + 1
        if started_s is not None:
            early_s = min(SERVES_NEXT_S, interval_s / 10)
            following = max(following, math.floor((started_s + early_s - self.origin_s) / interval_s) + 1)
        latest_past = math.floor((now_s - self.origin_s) / interval_s)
        if latest_past > following:
            self.skipped_slots += latest_past - following  # whole slots missed beyond the next
            following = latest_past
        self._move(index, following)

    def park(self, index: int, until_s: float) -> None:
        """Skip request ``index``'s slots up to ``until_s`` without counting them (an offline device)."""
        first_after = math.ceil((until_s - self.origin_s) / self.intervals_s[index])
        self._move(index, max(self._slot[index], first_after))

    def due_of(self, index: int) -> float:
        return self.origin_s + self._slot[index] * self.intervals_s[index]

    def _move(self, index: int, slot: int) -> None:
        self._slot[index] = slot
        due = self.due_of(index)
        if self._heap[0][1] == index:  # the usual case: the request just served is the first due
            heapq.heapreplace(self._heap, (due, index))
        else:
            self._heap = [(self.due_of(i), i) for i in range(len(self._slot))]
            heapq.heapify(self._heap)
