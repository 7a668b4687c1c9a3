"""What a shift report reads: the alarms that existed during [start, end), with the facts of their
timelines it needs (first acknowledgement, acknowledgements and shelvings in the shift).

One query: the alarms opened before the end and not closed before the start, with correlated lookups on
the timeline's (alarm, time) index. ``central.reports.shift`` turns the rows into the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from central.store.handle import Db


@dataclass(frozen=True, slots=True)
class ShiftAlarm:
    id: int
    site_id: str | None
    site_name: str | None
    site_time_zone: str | None
    gateway_id: str
    channel: str
    rule: str
    category: str
    level: int
    max_level: int
    opened_ms: int
    cleared_ms: int | None
    closed_ms: int | None
    closed_by: str | None
    handling: str | None
    forced_close: bool
    first_ack_ms: int | None  # the first acknowledgement ever
    acks_in_shift: int
    shelves_in_shift: int


SHIFT_SELECT = (
    "SELECT a.id, g.site_id, s.name AS site_name, s.time_zone AS site_time_zone, c.gateway_id, "
    "c.key AS channel, a.rule, a.category, "
    "a.level, a.max_level, a.opened_ms, a.cleared_ms, a.closed_ms, a.closed_by, a.handling, a.forced_close, "
    "(SELECT min(t.ts_ms) FROM alarm_timeline t WHERE t.alarm_id = a.id AND t.kind = 'acknowledged') "
    "AS first_ack_ms, "
    "(SELECT count(*) FROM alarm_timeline t WHERE t.alarm_id = a.id AND t.kind = 'acknowledged' "
    "AND t.ts_ms >= ? AND t.ts_ms < ?) AS acks_in_shift, "
    "(SELECT count(*) FROM alarm_timeline t WHERE t.alarm_id = a.id AND t.kind = 'shelved' "
    "AND t.ts_ms >= ? AND t.ts_ms < ?) AS shelves_in_shift "
    "FROM alarms a JOIN channels c ON c.id = a.channel_id LEFT JOIN gateways g ON g.id = c.gateway_id "
    "LEFT JOIN sites s ON s.id = g.site_id "
    "WHERE a.opened_ms < ? AND (a.closed_ms IS NULL OR a.closed_ms >= ?) ORDER BY a.id"
)


def shift_alarms(db: Db, start_ms: int, end_ms: int) -> list[ShiftAlarm]:
    rows = db.named(SHIFT_SELECT, (start_ms, end_ms, start_ms, end_ms, end_ms, start_ms))
    return [
        ShiftAlarm(**{**r, "forced_close": bool(r["forced_close"]), "acks_in_shift": int(r["acks_in_shift"]),
                      "shelves_in_shift": int(r["shelves_in_shift"])})
        for r in rows
    ]  # fmt: skip
