"""The shift handover: per site, what happened in [start, end) and what the next shift takes over.

Per site: alarms ``opened`` in the shift; ``still_active`` at its end (raised, not cleared, not
closed); ``acknowledged`` in it; ``not_acknowledged`` (in force during the shift, neither acknowledged
nor closed before its end: the next shift's to acknowledge); ``shelved`` in it; ``faults`` (equipment
alarms in force during it); the ``longest_unacknowledged_wait_s`` (from the raise to the first
acknowledgement or the close, or to the end of the shift); the alarms ``closed`` in it with their
handling; and the gateways' ``silent_periods`` (a ``gateway_silent`` alarm from its raise to its
clear, cut to the shift). A site's texts are in its own time zone when it has one, else the report's.
Pure: ``shift_sql`` reads the rows (``central.store.shift_sql``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from central import localtime
from central.alarms import SILENCE_RULE
from central.store.shift_sql import ShiftAlarm

NO_SITE = ""  # alarms of gateways that belong to no site


def _in_force(a: ShiftAlarm, start_ms: int) -> bool:
    return a.cleared_ms is None or a.cleared_ms >= start_ms


def _still_active(a: ShiftAlarm, end_ms: int) -> bool:
    return (a.cleared_ms is None or a.cleared_ms >= end_ms) and (a.closed_ms is None or a.closed_ms >= end_ms)


def _waited_until_ms(a: ShiftAlarm, end_ms: int) -> int:
    """When the alarm stopped waiting for someone: its first acknowledgement or its close, else the end."""
    done = [t for t in (a.first_ack_ms, a.closed_ms) if t is not None and t < end_ms]
    return min(done, default=end_ms)


def _wait_ms(a: ShiftAlarm, end_ms: int) -> int:
    return max(0, _waited_until_ms(a, end_ms) - a.opened_ms)


def _site_zone(alarms: list[ShiftAlarm], default: ZoneInfo) -> ZoneInfo:
    """The site's own zone when it names a known one, else the report's."""
    name = alarms[0].site_time_zone
    try:
        return localtime.zone(name) if name else default
    except localtime.UnknownZoneError:
        return default


def _site(alarms: list[ShiftAlarm], start_ms: int, end_ms: int, report_tz: ZoneInfo) -> dict[str, Any]:
    tz = _site_zone(alarms, report_tz)
    in_force = [a for a in alarms if _in_force(a, start_ms)]
    unacknowledged = [a for a in in_force if _waited_until_ms(a, end_ms) == end_ms]
    longest = max(in_force, key=lambda a: _wait_ms(a, end_ms), default=None)
    closed = [a for a in alarms if a.closed_ms is not None and start_ms <= a.closed_ms < end_ms]
    return {
        "site_id": alarms[0].site_id or NO_SITE,
        "site_name": alarms[0].site_name or alarms[0].site_id or NO_SITE,
        "time_zone": tz.key,  # of this site's texts: its own, else the report's
        "opened": sum(start_ms <= a.opened_ms < end_ms for a in alarms),
        "still_active": sum(_still_active(a, end_ms) for a in alarms),
        "acknowledged": sum(a.acks_in_shift > 0 for a in alarms),
        "not_acknowledged": len(unacknowledged),
        "shelved": sum(a.shelves_in_shift > 0 for a in alarms),
        "faults": sum(a.category == "fault" for a in in_force),
        "longest_unacknowledged_wait_s": None if longest is None else _wait_ms(longest, end_ms) // 1000,
        "longest_wait_alarm_id": None if longest is None else longest.id,
        "closed": [
            {
                "alarm_id": a.id,
                "channel": a.channel,
                "rule": a.rule,
                "level": a.max_level,
                "closed_ms": a.closed_ms,
                "closed_text": localtime.text(a.closed_ms or 0, tz),
                "closed_by": a.closed_by,
                "handling": a.handling,
                "forced": a.forced_close,
            }
            for a in closed
        ],
        "silent_periods": _silences(alarms, start_ms, end_ms, tz),
    }


def _silences(alarms: list[ShiftAlarm], start_ms: int, end_ms: int, tz: ZoneInfo) -> list[dict[str, Any]]:
    out = []
    for a in alarms:
        if a.rule != SILENCE_RULE:
            continue
        begin = max(a.opened_ms, start_ms)
        finish = min(a.cleared_ms if a.cleared_ms is not None else end_ms, end_ms)
        if finish > begin:
            out.append({
                "gateway_id": a.gateway_id, "start_ms": begin, "end_ms": finish,
                "duration_s": (finish - begin) // 1000, "start_text": localtime.text(begin, tz),
                "end_text": localtime.text(finish, tz),
            })  # fmt: skip
    return out


COUNTS = ("opened", "still_active", "acknowledged", "not_acknowledged", "shelved", "faults")


def shift_report(alarms: list[ShiftAlarm], start_ms: int, end_ms: int, tz_name: str) -> dict[str, Any]:
    """The report as JSON-ready data; sites in id order, those with nothing to report left out."""
    tz = localtime.zone(tz_name)
    by_site: dict[str, list[ShiftAlarm]] = defaultdict(list)
    for a in alarms:
        by_site[a.site_id or NO_SITE].append(a)
    sites = [_site(by_site[s], start_ms, end_ms, tz) for s in sorted(by_site)]
    waits = [
        s["longest_unacknowledged_wait_s"] for s in sites if s["longest_unacknowledged_wait_s"] is not None
    ]
    return {
        "start_ms": start_ms, "end_ms": end_ms, "time_zone": tz_name,
        "start_text": localtime.text(start_ms, tz), "end_text": localtime.text(end_ms, tz),
        "totals": {
            **{k: sum(s[k] for s in sites) for k in COUNTS},
            "closed": sum(len(s["closed"]) for s in sites),
            "silent_periods": sum(len(s["silent_periods"]) for s in sites),
            "longest_unacknowledged_wait_s": max(waits, default=None),
        },
        "sites": sites,
    }  # fmt: skip
