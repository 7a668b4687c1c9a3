"""NMEA 0183 field codecs: text fields <-> numbers, times, dates and coordinates.

Each ``parse_*`` takes the field's text and the name to blame (``"GGA.latitude"``); an empty field is
``None`` (the receiver has no value), a malformed one raises ``FrameError`` naming the field. Each
``format_*`` is the inverse, for the simulator and tests; ``None`` formats as an empty field.

Coordinates are ``ddmm.mmmm`` (latitude) and ``dddmm.mmmm`` (longitude) with a hemisphere letter. They are
parsed from the text, not through one float of ``ddmm.mmmm``, and formatted with 7 decimals of minutes by
default (0.2 mm): slope monitoring trusts millimetres.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, time
from typing import Final

from protocols.errors import FrameError, LocalProtocolError

KNOT_M_S: Final = 1852.0 / 3600.0  # one knot in m/s (the international nautical mile is 1852 m)
CENTURY_PIVOT_YY: Final = 80  # two-digit years below are 20yy, the others 19yy

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"\d+")
_TIME = re.compile(r"(\d{2})(\d{2})(\d{2})(?:\.(\d*))?")
_DATE = re.compile(r"(\d{2})(\d{2})(\d{2})")
# Minutes always have two integer digits; the degrees are what is left (2 for latitude, 3 for longitude).
_COORDINATE = re.compile(r"(\d{1,3})(\d{2}(?:\.\d*)?)")


def _bad(name: str, expected: str, text: str) -> FrameError:
    return FrameError(f"{name}: expected {expected} (got {text!r})")


def parse_float(text: str, name: str) -> float | None:
    if not text:
        return None
    if _NUMBER.fullmatch(text) is None:
        raise _bad(name, "a decimal number", text)
    return float(text)


def parse_int(text: str, name: str, low: int = 0, high: int = 999) -> int | None:
    if not text:
        return None
    if _INTEGER.fullmatch(text) is None or not low <= int(text) <= high:
        raise _bad(name, f"an integer {low}-{high}", text)
    return int(text)


def parse_choice(text: str, name: str, choices: str) -> str | None:
    """One letter out of ``choices`` ("AV"), or None."""
    if not text:
        return None
    if len(text) != 1 or text not in choices:
        raise _bad(name, f"one of {', '.join(choices)}", text)
    return text


def parse_time(text: str, name: str) -> time | None:
    """``hhmmss[.sss]`` UTC. A leap second (ss = 60) reads as 59.999999: ``datetime.time`` has no 60."""
    if not text:
        return None
    m = _TIME.fullmatch(text)
    if m is None or int(m[1]) > 23 or int(m[2]) > 59 or int(m[3]) > 60:
        raise _bad(name, "hhmmss.ss UTC", text)
    second, microsecond = int(m[3]), int((m[4] or "").ljust(6, "0")[:6])
    if second == 60:
        second, microsecond = 59, 999_999
    return time(int(m[1]), int(m[2]), second, microsecond, tzinfo=UTC)


def parse_date(text: str, name: str) -> date | None:
    """``ddmmyy``; two-digit years below ``CENTURY_PIVOT_YY`` are in the 2000s."""
    if not text:
        return None
    m = _DATE.fullmatch(text)
    if m is None:
        raise _bad(name, "ddmmyy", text)
    yy = int(m[3])
    try:
        return date(yy + (2000 if yy < CENTURY_PIVOT_YY else 1900), int(m[2]), int(m[1]))
    except ValueError:
        raise _bad(name, "a calendar date ddmmyy", text) from None


def parse_coordinate(text: str, hemisphere: str, name: str, *, latitude: bool) -> float | None:
    """Signed degrees from ``ddmm.mmmm`` + N/S (``latitude``) or ``dddmm.mmmm`` + E/W."""
    positive, negative, limit = ("N", "S", 90) if latitude else ("E", "W", 180)
    if not text:
        if hemisphere:
            raise _bad(name, "no hemisphere without a coordinate", hemisphere)
        return None
    m = _COORDINATE.fullmatch(text)
    if m is None:
        raise _bad(name, "ddmm.mmmm" if latitude else "dddmm.mmmm", text)
    degrees, minutes = int(m[1]), float(m[2])
    value = degrees + minutes / 60.0
    if minutes >= 60.0 or value > limit:
        raise _bad(name, f"at most {limit} degrees and minutes below 60", text)
    if hemisphere == positive:
        return value
    if hemisphere == negative:
        return -value
    raise _bad(f"{name} hemisphere", f"{positive} or {negative}", hemisphere)


def format_number(value: float | None, decimals: int) -> str:
    if value is None:
        return ""
    if not math.isfinite(value):
        raise LocalProtocolError(f"NMEA has no text for {value}: give None for an empty field")
    return f"{value:.{decimals}f}"


def format_time(value: time | None, decimals: int = 2) -> str:
    """``hhmmss.ss``; the fraction is truncated, never rounded into the next second."""
    if value is None:
        return ""
    whole = f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
    return f"{whole}.{value.microsecond:06d}"[: len(whole) + 1 + decimals] if decimals else whole


def format_date(value: date | None) -> str:
    return "" if value is None else f"{value.day:02d}{value.month:02d}{value.year % 100:02d}"


def format_coordinate(
    value_deg: float | None, *, latitude: bool, minute_decimals: int = 7
) -> tuple[str, str]:
    """``("4807.0380000", "N")`` for 48.1173 latitude; ``("", "")`` for None."""
    if value_deg is None:
        return "", ""
    limit, degree_digits = (90, 2) if latitude else (180, 3)
    if not abs(value_deg) <= limit:
        raise LocalProtocolError(f"{'latitude' if latitude else 'longitude'} {value_deg} is out of range")
    hemisphere = ("N" if value_deg >= 0 else "S") if latitude else ("E" if value_deg >= 0 else "W")
    degrees = int(abs(value_deg))
    minutes = round((abs(value_deg) - degrees) * 60.0, minute_decimals)
    if minutes >= 60.0:  # 59.99999999 rounded up: carry into the degrees
        degrees, minutes = degrees + 1, 0.0
    width = 3 + minute_decimals if minute_decimals else 2
    return f"{degrees:0{degree_digits}d}{minutes:0{width}.{minute_decimals}f}", hemisphere
