"""The theoretical time of Modbus RTU reads on a serial line, for ``fieldwatch-edge plan`` and statistics.

One read transaction on a half-duplex RS-485 line is::

    request (8 bytes) | t3.5 | slave turnaround | response | t3.5

where a byte costs one character time (``bits_per_char / baud``: 11 bits for 8E1, 8O1 and 8N2, 10 for the
common but non-standard 8N1) and t3.5 is the inter-frame silence: 3.5 character times, fixed at 1.75 ms
above 19200 baud (Modbus over serial line, 2.5.1.1). A register answer carries 5 + 2N bytes (address,
function, byte count, data, CRC); a coil or discrete-input answer 5 + ceil(N / 8).

This is the lower bound a perfect master reaches; a real one adds its own latency. ``bus_load`` says what
share of the line a schedule of requests needs: above 1.0 the bus cannot keep the configured rates.
The same formula is in ``shared/tools/serial_wire.py`` (the wire emulator); a test keeps them equal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from protocols.errors import LocalProtocolError
from protocols.planner import FUNCTION_CODES, MAX_BITS_PER_READ, MAX_REGISTERS_PER_READ, ReadRequest
from protocols.profile import BIT_KINDS, RegisterKind

READ_REQUEST_BYTES = 8  # unit id, function, start address (2), count (2), CRC (2)
RESPONSE_OVERHEAD_BYTES = 5  # unit id, function, byte count, CRC (2)
FIXED_SILENCE_ABOVE_BAUD = 19200
FIXED_SILENCE_S = 1.75e-3
MIN_BITS_PER_CHAR, MAX_BITS_PER_CHAR = 9, 12  # 7N1 .. 8E2, start and stop bits included


def _check_line(baud: int, bits_per_char: int) -> None:
    if baud <= 0:
        raise LocalProtocolError(f"baud must be > 0 (got {baud})")
    if not MIN_BITS_PER_CHAR <= bits_per_char <= MAX_BITS_PER_CHAR:
        raise LocalProtocolError(
            f"bits_per_char counts start, data, parity and stop bits: "
            f"{MIN_BITS_PER_CHAR}-{MAX_BITS_PER_CHAR} (got {bits_per_char})"
        )


def _check_kind(kind: str) -> None:
    if kind not in FUNCTION_CODES:
        raise LocalProtocolError(
            f"unknown register kind {kind!r} (expected one of {', '.join(FUNCTION_CODES)})"
        )


def char_time_s(baud: int, bits_per_char: int) -> float:
    """Seconds one character takes on the line."""
    _check_line(baud, bits_per_char)
    return bits_per_char / baud


def silence_s(baud: int, bits_per_char: int) -> float:
    """t3.5, the silence that ends a frame: 3.5 characters, fixed at 1.75 ms above 19200 baud."""
    if baud > FIXED_SILENCE_ABOVE_BAUD:
        _check_line(baud, bits_per_char)
        return FIXED_SILENCE_S
    return 3.5 * char_time_s(baud, bits_per_char)


def request_bytes(kind: RegisterKind) -> int:
    """Bytes of a read request of any kind (functions 1-4)."""
    _check_kind(kind)
    return READ_REQUEST_BYTES


def response_bytes(kind: RegisterKind, count: int) -> int:
    """Bytes of the normal answer to a read of ``count`` registers (or bits, for coil/discrete)."""
    _check_kind(kind)
    bits = kind in BIT_KINDS
    limit = MAX_BITS_PER_READ if bits else MAX_REGISTERS_PER_READ
    if not 1 <= count <= limit:
        unit = "bits" if bits else "registers"
        raise LocalProtocolError(f"a {kind} read carries 1-{limit} {unit} (got {count})")
    data_bytes = math.ceil(count / 8) if bits else 2 * count
    return RESPONSE_OVERHEAD_BYTES + data_bytes


def transaction_s(
    baud: int, bits_per_char: int, kind: RegisterKind, count: int, turnaround_s: float = 0.0
) -> float:
    """Seconds of line time for one read: request, t3.5, turnaround, response, t3.5.

    ``turnaround_s`` is the slave's processing time before it answers, plus any pause the master keeps.
    """
    if turnaround_s < 0:
        raise LocalProtocolError(f"turnaround_s must be >= 0 (got {turnaround_s})")
    frame_bytes = request_bytes(kind) + response_bytes(kind, count)
    return frame_bytes * char_time_s(baud, bits_per_char) + 2 * silence_s(baud, bits_per_char) + turnaround_s


def bus_load(
    requests: Sequence[ReadRequest], baud: int, bits_per_char: int, turnaround_s: float = 0.0
) -> float:
    """The share of line time a schedule needs: the sum of each request's time over its poll interval."""
    load = 0.0
    for r in requests:
        if r.poll_interval_ms <= 0:
            raise LocalProtocolError(f"poll_interval_ms must be > 0 (got {r.poll_interval_ms})")
        seconds = transaction_s(baud, bits_per_char, r.kind, r.count, turnaround_s)
        load += seconds / (r.poll_interval_ms / 1000)
    return load


def max_transactions_per_s(
    baud: int, bits_per_char: int, kind: RegisterKind, count: int, turnaround_s: float = 0.0
) -> float:
    """How many such reads the line can carry per second, back to back."""
    return 1.0 / transaction_s(baud, bits_per_char, kind, count, turnaround_s)
