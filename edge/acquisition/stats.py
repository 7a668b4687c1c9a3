"""Counters for a bus and its devices, and the snapshot the heartbeat carries.

Recording is a few integer additions per request (the hot path); ``snapshot()`` does the arithmetic.
Latency keeps the last ``LATENCY_SAMPLES`` answers in a fixed ring, so percentiles describe recent
behaviour and memory is bounded. Labels are bounded too: devices are the site file's, exception codes are
1-255. Times are real seconds (wire time), whatever the clock's speed.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from edge.acquisition.modbus_client import ReadStatus

LATENCY_SAMPLES = 512


class LatencyRing:
    """The last ``size`` latencies, in seconds (a plain list: adding is on every poll's path, numpy's
    element assignment costs more than the rest of it; the snapshot does the arithmetic)."""

    def __init__(self, size: int = LATENCY_SAMPLES) -> None:
        self._values: list[float] = []
        self._size = size
        self._next = 0

    def add(self, seconds: float) -> None:
        if len(self._values) < self._size:
            self._values.append(seconds)
        else:
            self._values[self._next] = seconds
            self._next = (self._next + 1) % self._size

    def percentiles_ms(self) -> dict[str, float | None]:
        if not self._values:
            return {"p50": None, "p95": None}
        p50, p95 = np.percentile(np.array(self._values), [50, 95]) * 1e3
        return {"p50": round(float(p50), 3), "p95": round(float(p95), 3)}


class RequestCounters:
    """What happened to the requests of one device, or of a whole bus."""

    def __init__(self) -> None:
        self.requests = 0
        self.good = 0
        self.timeouts = 0
        self.crc_errors = 0
        self.frame_errors = 0
        self.disconnected = 0
        self.exceptions: dict[int, int] = {}
        self.latency = LatencyRing()
        self.line_s = 0.0  # time spent on these requests, answered or not

    def record(self, status: ReadStatus, seconds: float, exception_code: int = 0, detail: str = "") -> None:
        self.requests += 1
        self.line_s += seconds
        if status is ReadStatus.OK:
            self.good += 1
            self.latency.add(seconds)
        elif status is ReadStatus.EXCEPTION:
            self.exceptions[exception_code] = self.exceptions.get(exception_code, 0) + 1
            self.latency.add(seconds)
        elif status is ReadStatus.TIMEOUT:
            self.timeouts += 1
        elif status is ReadStatus.BAD_FRAME:
            if detail == "crc":
                self.crc_errors += 1
            else:
                self.frame_errors += 1
        else:
            self.disconnected += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "good": self.good,
            "timeouts": self.timeouts,
            "crc_errors": self.crc_errors,
            "frame_errors": self.frame_errors,
            "disconnected": self.disconnected,
            "exceptions": {str(code): n for code, n in sorted(self.exceptions.items())},
            "latency_ms": self.latency.percentiles_ms(),
            "line_s": round(self.line_s, 6),
        }


class BusCounters(RequestCounters):
    """A bus adds line time, skipped slots and restarts to its requests' counters."""

    def __init__(self) -> None:
        super().__init__()
        self.busy_s = 0.0
        self.started_s = time.monotonic()
        self.offline_skips = 0
        self.restarts = 0

    def busy(self, seconds: float) -> None:
        self.busy_s += seconds

    def utilisation(self) -> float:
        elapsed = time.monotonic() - self.started_s
        return round(self.busy_s / elapsed, 4) if elapsed > 0 else 0.0
