"""The CSV shapes of alarms, readings and history, and the page-by-page reads behind them.

Each export reads the store a page at a time through ``store.query`` (the event loop never waits on the
database, and only one page is in memory); times go out as epoch ms and, beside them, as local text
with the offset (the command center's zone).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from central import localtime
from central.store.base import Store
from central.store.records import Alarm, AlarmFilter, Bucket, RawReading

READINGS_PAGE = 5000
ALARMS_PAGE = 500
MAX_ALARM_ROWS = 100_000

ALARM_HEADER = (
    "id", "opened", "opened_ms", "site_id", "gateway_id", "channel", "rule", "category", "status", "level",
    "max_level", "criterion", "value", "unit", "threshold", "message", "acknowledged_by", "acknowledged_ms",
    "cleared_ms", "closed_by", "closed_ms", "handling", "forced_close", "assignee", "shelved_until_ms",
)  # fmt: skip
READING_HEADER = ("channel", "time", "ts_ms", "seq", "value", "quality")
HISTORY_HEADER = ("channel", "time", "start_ms", "min", "max", "mean", "last", "count")


def alarm_row(a: Alarm, tz: ZoneInfo) -> Sequence[Any]:
    return (
        a.id, localtime.text(a.opened_ms, tz), a.opened_ms, a.site_id, a.gateway_id, a.channel, a.rule,
        a.category, a.status, a.level, a.max_level, a.criterion, a.value, a.unit, a.threshold, a.message,
        a.acknowledged_by, a.acknowledged_ms, a.cleared_ms, a.closed_by, a.closed_ms, a.handling,
        int(a.forced_close), a.assignee, a.shelved_until_ms,
    )  # fmt: skip


def reading_row(channel: str, r: RawReading, tz: ZoneInfo) -> Sequence[Any]:
    return (channel, localtime.text(r.ts_ms, tz), r.ts_ms, r.seq, r.value, r.quality)


def bucket_row(channel: str, b: Bucket, tz: ZoneInfo) -> Sequence[Any]:
    return (channel, localtime.text(b.start_ms, tz), b.start_ms, b.min, b.max, b.mean, b.last, b.count)


async def alarm_pages(store: Store, where: AlarmFilter, tz: ZoneInfo) -> AsyncIterator[list[Sequence[Any]]]:
    """Every alarm matching ``where`` (its limit and offset aside), a page at a time."""
    for offset in range(0, MAX_ALARM_ROWS, ALARMS_PAGE):
        page = await store.query(store.alarms, replace(where, limit=ALARMS_PAGE, offset=offset))
        yield [alarm_row(a, tz) for a in page.data]
        if len(page.data) < ALARMS_PAGE:
            return


async def reading_pages(
    store: Store, channel: str, start_ms: int, end_ms: int, tz: ZoneInfo
) -> AsyncIterator[list[Sequence[Any]]]:
    """The channel's readings in [start_ms, end_ms), a page at a time, by (time, seq)."""
    last: tuple[int, int] | None = None
    while True:
        page = await store.query(store.readings, channel, start_ms, end_ms, READINGS_PAGE)
        fresh = [r for r in page if last is None or (r.ts_ms, r.seq) > last]
        yield [reading_row(channel, r, tz) for r in fresh]
        if len(page) < READINGS_PAGE or not fresh:
            return
        last = (fresh[-1].ts_ms, fresh[-1].seq)
        start_ms = last[0]  # the next page starts at the last time seen (its seqs up to last are skipped)
