"""Readings as a PostgreSQL binary COPY stream, built with numpy in one pass (no Python object per row).

The binary COPY format is a signature, then per tuple a 16-bit field count and per field a 32-bit length
and the value in network byte order, then a 16-bit -1. Every reading has the same five fixed-width
fields, so a numpy structured dtype with big-endian members *is* the tuple layout; a NULL value (NaN on
the edge) has length -1 and no bytes, so those rows use a second dtype without the value. Tuple order
does not matter to COPY.

The column types must be exactly those of ``readings``: bigint, bigint, bigint, double precision, bigint.
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
COLUMNS = "channel_id, ts_ms, seq, value, quality"

_INT8 = [("len", ">i4"), ("v", ">i8")]
ROW = np.dtype(
    [("fields", ">i2"), ("channel_len", ">i4"), ("channel_id", ">i8"), ("ts_len", ">i4"), ("ts_ms", ">i8"),
     ("seq_len", ">i4"), ("seq", ">i8"), ("value_len", ">i4"), ("value", ">f8"), ("quality_len", ">i4"),
     ("quality", ">i8")]
)  # fmt: skip
ROW_NULL_VALUE = np.dtype(
    [("fields", ">i2"), ("channel_len", ">i4"), ("channel_id", ">i8"), ("ts_len", ">i4"), ("ts_ms", ">i8"),
     ("seq_len", ">i4"), ("seq", ">i8"), ("value_len", ">i4"), ("quality_len", ">i4"), ("quality", ">i8")]
)  # fmt: skip


def _rows(dtype: np.dtype[np.void], n: int) -> npt.NDArray[np.void]:
    out = np.empty(n, dtype=dtype)
    out["fields"] = 5
    for name in ("channel_len", "ts_len", "seq_len", "quality_len"):
        out[name] = 8
    out["value_len"] = 8 if "value" in dtype.names else -1  # type: ignore[operator]
    return out


def readings_copy(
    channel_id: npt.NDArray[np.int64],
    ts_ms: npt.NDArray[np.int64],
    seq: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    quality: npt.NDArray[np.int64],
) -> bytes:
    """The whole COPY stream (signature to trailer) for these readings."""
    null = np.isnan(value)
    parts = [SIGNATURE]
    for dtype, mask in ((ROW, ~null), (ROW_NULL_VALUE, null)):
        n = int(mask.sum())
        if n == 0:
            continue
        rows = _rows(dtype, n)
        rows["channel_id"] = channel_id[mask]
        rows["ts_ms"] = ts_ms[mask]
        rows["seq"] = seq[mask]
        rows["quality"] = quality[mask]
        if dtype is ROW:
            rows["value"] = value[mask]
        parts.append(rows.tobytes())
    parts.append(TRAILER)
    return b"".join(parts)
