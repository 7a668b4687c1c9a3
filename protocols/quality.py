"""Reading quality: bit flags, good = 0.

A reading carries one ``quality`` integer. The low 16 bits are flags; bits 16-23 carry the Modbus exception
code when ``DEVICE_EXCEPTION`` is set (``with_exception_code``), so the central can tell "illegal address"
from "device busy" without another column.

``NOT_AVAILABLE`` (bit 8) is the device saying "no value now" (warming up, not measured) with its sentinel
(``nan_value``) or a NaN: the value is missing, not wrong. It is not a fault: detection skips such a
reading as if it had not come (the ``fault`` rule neither starts nor clears on it), while ``SENSOR_FAULT``
is the device reporting a broken sensor.
"""

from __future__ import annotations

from enum import IntFlag


class Quality(IntFlag):
    GOOD = 0
    COMM_ERROR = 1 << 0  # no answer: timeout, port gone, device marked offline
    DEVICE_EXCEPTION = 1 << 1  # the device answered with a Modbus exception (code in bits 16-23)
    OUT_OF_RANGE = 1 << 2  # decoded value outside the point's physical range
    FLATLINE = 1 << 3  # the value has not moved for longer than the flatline rule allows
    SENSOR_FAULT = 1 << 4  # the device says so: a nan sentinel, a fault status bit, no fix
    CLOCK_UNSYNC = 1 << 5  # the gateway clock was not synchronised when the reading was stamped
    BAD_FRAME = 1 << 6  # CRC, checksum or framing error on the answer
    DEGRADED = 1 << 7  # valid but below the required accuracy (GNSS RTK float, few satellites)
    NOT_AVAILABLE = (
        1 << 8
    )  # the device says "no value now": its nan sentinel, a NaN (warming up, not measured)


EXCEPTION_CODE_SHIFT = 16
EXCEPTION_CODE_MASK = 0xFF << EXCEPTION_CODE_SHIFT

# A reading with any of these flags has no usable value (its value is NaN).
NO_VALUE = (
    Quality.COMM_ERROR
    | Quality.DEVICE_EXCEPTION
    | Quality.BAD_FRAME
    | Quality.SENSOR_FAULT
    | Quality.NOT_AVAILABLE
)


# The Modbus exception codes a technician meets, in the specification's words.
EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


def exception_text(code: int) -> str:
    """``exception 4 (server device failure)``."""
    name = EXCEPTION_NAMES.get(code)
    return f"exception {code} ({name})" if name else f"exception {code}"


def with_exception_code(code: int) -> int:
    """The quality of a reading whose device answered Modbus exception ``code`` (1-255)."""
    if not 0 < code <= 0xFF:
        raise ValueError(f"Modbus exception code must be 1-255 (got {code})")
    return int(Quality.DEVICE_EXCEPTION) | (code << EXCEPTION_CODE_SHIFT)


def exception_code(quality: int) -> int:
    """The Modbus exception code carried in ``quality``, or 0."""
    return (quality & EXCEPTION_CODE_MASK) >> EXCEPTION_CODE_SHIFT


def flags(quality: int) -> Quality:
    """The flag part of ``quality``, without the exception code."""
    return Quality(quality & 0xFFFF)


def describe(quality: int) -> str:
    """A short human text: ``good``, ``comm_error``, ``device_exception(2)|out_of_range`` ..."""
    if quality == 0:
        return "good"
    parts = []
    for flag in Quality:
        if flag and quality & flag:
            name = (flag.name or "").lower()
            if flag is Quality.DEVICE_EXCEPTION:
                name += f"({exception_code(quality)})"
            parts.append(name)
    return "|".join(parts)


def is_usable(quality: int) -> bool:
    """True when the reading's value may feed detection (no flag that voids the value)."""
    return not quality & NO_VALUE
