"""Local time for the command center: days that start at local midnight, and times written with their
offset. The API keeps epoch milliseconds; only buckets and rendered texts (reports) use a zone.

A local day is cut at the hour that holds local midnight, so it is exact wherever the offset is a whole
number of hours (China: +08:00, no daylight saving): the hourly rollups (``central.store.rollup``) are the
unit a day is built from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HOUR_MS = 3_600_000


class UnknownZoneError(ValueError):
    """Not an IANA time zone name (the API answers 400)."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownZoneError(
            f"unknown time zone {name!r}: expected an IANA name such as Asia/Shanghai"
        ) from None


def day_start_ms(ts_ms: int, tz: ZoneInfo) -> int:
    """The start of the local day holding ``ts_ms`` (floored to the hour, see above)."""
    local = datetime.fromtimestamp(ts_ms / 1000, tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1000) // HOUR_MS * HOUR_MS


def next_day_start_ms(ts_ms: int, tz: ZoneInfo) -> int:
    """The start of the local day after the one holding ``ts_ms``."""
    local = datetime.fromtimestamp(day_start_ms(ts_ms, tz) / 1000, tz) + timedelta(hours=36)
    return day_start_ms(int(local.timestamp() * 1000), tz)


def text(ts_ms: int, tz: ZoneInfo) -> str:
    """``2026-12-06 14:05 +08:00``: a time for people, in the zone, with its offset."""
    local = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(tz)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"
