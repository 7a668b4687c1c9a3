"""Hourly rollups: per channel and UTC hour, the count, sum, min, max and last of the readings' values.

The ingest folds every new reading into its hour (``hourly`` groups a batch's rows; the store upserts
the groups, adding counts and sums, widening min and max, keeping the newest last), so a history in
1-hour or 1-day buckets reads one row per hour instead of 360 readings: 30 days of 10-second data is 720
rows, not 259 200. Rows are added once each (the ledger filters resends), so sums and counts stay exact
whatever the order batches arrive in. Raw-reading retention leaves the rollups: long-term charts at 1 h
and 1 d outlive the raw data. Readings without a value (void quality) are not counted.

``merge`` combines hourly rows into wider buckets (a day). Pure numpy and Python; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# (channel_id, hour_ms, n, sum, min, max, last_ts, last_seq, last_value)
Row = tuple[int, int, int, float, float, float, int, int, float]


def hourly(
    channel_id: npt.NDArray[np.int64],
    ts_ms: npt.NDArray[np.int64],
    seq: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
) -> list[Row]:
    """One row per (channel, hour) among the readings that have a value."""
    keep = ~np.isnan(value)
    if not keep.any():
        return []
    c, t, s, v = channel_id[keep], ts_ms[keep], seq[keep], value[keep]
    hour = t // HOUR_MS * HOUR_MS
    order = np.lexsort((s, t, hour, c))  # by channel, hour, then time and seq: the group's last row is last
    c, t, s, v, hour = c[order], t[order], s[order], v[order], hour[order]
    new_group = np.ones(len(c), dtype=np.bool_)
    new_group[1:] = (c[1:] != c[:-1]) | (hour[1:] != hour[:-1])
    starts = np.flatnonzero(new_group)
    ends = np.append(starts[1:], len(c)) - 1
    n = np.diff(np.append(starts, len(c)))
    return list(
        zip(
            c[starts].tolist(), hour[starts].tolist(), n.tolist(), np.add.reduceat(v, starts).tolist(),
            np.minimum.reduceat(v, starts).tolist(), np.maximum.reduceat(v, starts).tolist(),
            t[ends].tolist(), s[ends].tolist(), v[ends].tolist(), strict=True,
        )
    )  # fmt: skip


def merge(
    rows: list[tuple[Any, ...]], bucket_ms: int, bucket_of: Callable[[int], int] | None = None
) -> list[tuple[int, float, float, float, float, int]]:
    """Hourly ``(hour_ms, n, sum, min, max, last_ts, last_seq, last_value)`` rows, sorted by hour, into
    ``(start_ms, min, max, mean, last, count)`` buckets of ``bucket_ms`` (a multiple of an hour), or of
    ``bucket_of(hour_ms)``: the start of the hour's bucket (local days)."""
    out: list[tuple[int, float, float, float, float, int]] = []
    current: list[Any] | None = None
    for hour_ms, n, total, lo, hi, last_ts, last_seq, last_value in rows:
        start = bucket_of(hour_ms) if bucket_of is not None else hour_ms // bucket_ms * bucket_ms
        if current is None or current[0] != start:
            if current is not None:
                out.append(_bucket(current))
            current = [start, n, total, lo, hi, (last_ts, last_seq), last_value]
            continue
        current[1] += n
        current[2] += total
        current[3] = min(current[3], lo)
        current[4] = max(current[4], hi)
        if (last_ts, last_seq) > current[5]:
            current[5], current[6] = (last_ts, last_seq), last_value
    if current is not None:
        out.append(_bucket(current))
    return out


def _bucket(acc: list[Any]) -> tuple[int, float, float, float, float, int]:
    start, n, total, lo, hi, _, last_value = acc
    return int(start), float(lo), float(hi), float(total) / int(n), float(last_value), int(n)
