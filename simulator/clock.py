"""The story's clock: simulated seconds since the scenario started, ``speed`` times faster than real time.

A clock may be made on hold: devices then answer with their values at t = 0 until ``go()``. The demo
holds every simulator until its gateways are up, then starts all three stories at once, so the first
minutes of a story are not spent while a gateway is still loading.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


def clock_text(t_s: float) -> str:
    """``h:mm:ss`` of story time (negative before the story starts)."""
    sign = "-" if t_s < 0 else ""
    whole = int(abs(t_s))
    return f"{sign}{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class SimClock:
    def __init__(self, speed: float = 1.0, *, hold: bool = False) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0 (got {speed})")
        self.speed = speed
        self._real0: float | None = None
        self._wall0_s = time.time()
        self._started = asyncio.Event()
        if not hold:
            self.go()

    def go(self) -> None:
        """Start the story now (does nothing when it runs already)."""
        if self._real0 is None:
            self._real0 = time.monotonic()
            self._wall0_s = time.time()
            self._started.set()

    @property
    def running(self) -> bool:
        return self._real0 is not None

    def now_s(self) -> float:
        """Simulated seconds since the story started (0 while on hold)."""
        if self._real0 is None:
            return 0.0
        return (time.monotonic() - self._real0) * self.speed

    def utc(self, t_s: float) -> datetime:
        """The UTC instant of simulated time ``t_s`` (for the GNSS receiver's time and date fields)."""
        return datetime.fromtimestamp(self._wall0_s + t_s, tz=UTC)

    async def started(self) -> None:
        await self._started.wait()

    async def sleep_until(self, t_s: float) -> None:
        """Return once simulated time has reached ``t_s`` (waits for ``go()`` first)."""
        await self._started.wait()
        while (left_s := t_s - self.now_s()) > 0:  # noqa: ASYNC110 - time, not an event, is awaited
            await asyncio.sleep(left_s / self.speed)
