"""The gateway's clock: UTC stamps for readings, monotonic time for schedules, and whether to trust it.

In the field ``speed`` is 1. The demo and the end-to-end tests fast-forward: with ``speed=60`` an hour of
simulated time passes in a minute, poll intervals and sleeps are in simulated seconds, and stamps advance
60 times faster than the wall clock from the moment the clock was made. Wire timeouts stay in real
seconds (they are about the wire, not about the process being watched).

``origin_ms`` anchors a fast-forwarded clock to a shared instant: it then reads
``origin + (wall now - origin) * speed``, the same in every process given the same origin and speed, and
across restarts (the demo's gateway reboots continue the story's time instead of going back to now).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import time

TIME_ERROR = 5  # adjtimex(2): the kernel's clock is not synchronised


class Clock:
    def __init__(self, speed: float = 1.0, start_ms: int | None = None, origin_ms: int | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be > 0 (got {speed})")
        if origin_ms is not None and start_ms is None:
            start_ms = origin_ms + int((time.time_ns() // 1_000_000 - origin_ms) * speed)
        self.speed = speed
        self.simulated = speed != 1.0 or start_ms is not None
        self._real0 = time.monotonic()
        self._wall0_ms = time.time_ns() // 1_000_000 if start_ms is None else start_ms

    def monotonic_s(self) -> float:
        """Simulated seconds since the clock was made; never goes back."""
        return (time.monotonic() - self._real0) * self.speed

    def now_ms(self) -> int:
        """UTC epoch milliseconds: the wall clock in the field, simulated time otherwise."""
        if not self.simulated:
            return time.time_ns() // 1_000_000
        return self._wall0_ms + int(self.monotonic_s() * 1000.0)

    async def sleep(self, simulated_s: float) -> None:
        await asyncio.sleep(max(0.0, simulated_s) / self.speed)

    async def sleep_until(self, monotonic_s: float) -> None:
        await self.sleep(monotonic_s - self.monotonic_s())

    def synchronised(self) -> bool:
        """True when the kernel says the clock is synchronised (NTP); always True when simulated."""
        return True if self.simulated else kernel_clock_synchronised()


class _Timex(ctypes.Structure):
    # struct timex is 208 bytes on 64-bit Linux; only `modes` (first int) matters for a read-only call.
    _fields_ = [("modes", ctypes.c_uint), ("_rest", ctypes.c_byte * 204)]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def kernel_clock_synchronised() -> bool:
    """adjtimex(2) with no modes: TIME_ERROR means unsynchronised. Unknown platforms count as synchronised."""
    adjtimex = getattr(_libc, "adjtimex", None)
    if adjtimex is None:
        return True
    tx = _Timex()
    state = adjtimex(ctypes.byref(tx))
    return bool(state != TIME_ERROR and state >= 0)
