"""Local time: day buckets from local midnight (both stores, through HTTP), and times written with their
offset."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from central import localtime
from protocols.records import ReadingBlock
from protocols.wire import Batch
from tests.central.api.handling_app import Desk, desk

__all__ = ["desk"]

KEY = "gw-1/dev-1/level_m"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def readings(times: list[str], values: list[float]) -> Batch:
    ts = np.array([ms(t) for t in times], dtype=np.int64)
    seq = np.arange(1, len(ts) + 1, dtype=np.int64)
    block = ReadingBlock.of(np.zeros(len(ts)), ts, values, np.zeros(len(ts)))
    return Batch("gw-1", 1, int(ts[0]), [KEY], block, seq)


def test_day_buckets_start_at_local_midnight(desk: Desk) -> None:
    # Beijing midnight is 16:00 UTC: the first two readings are one UTC day but two Beijing days
    desk.store.ingest(
        readings(
            ["2026-03-01T15:30:00+00:00", "2026-03-01T16:30:00+00:00", "2026-03-02T15:59:00+00:00"],
            [1.0, 5.0, 7.0],
        ),
        ms("2026-03-03T00:00:00+00:00"),
    )
    window = f"channel={KEY}&bucket=1d&start_ms={ms('2026-03-01T00:00:00+00:00')}"
    window += f"&end_ms={ms('2026-03-03T00:00:00+00:00')}"
    utc = desk.get(f"/api/v1/history?{window}")["data"]
    assert [(b["start_ms"], b["count"]) for b in utc] == [
        (ms("2026-03-01T00:00:00+00:00"), 2), (ms("2026-03-02T00:00:00+00:00"), 1)
    ]  # fmt: skip
    local = desk.get(f"/api/v1/history?{window}&tz=Asia/Shanghai")["data"]
    assert [(b["start_ms"], b["count"], b["min"], b["max"], b["last"]) for b in local] == [
        (ms("2026-03-01T00:00:00+08:00"), 1, 1.0, 1.0, 1.0),
        (ms("2026-03-02T00:00:00+08:00"), 2, 5.0, 7.0, 7.0),
    ]
    r = desk.client.get(f"/api/v1/history?{window}&tz=Mars/Olympus", headers=desk.viewer)
    assert (r.status_code, r.json()["detail"]) == (
        400, "unknown time zone 'Mars/Olympus': expected an IANA name such as Asia/Shanghai"
    )  # fmt: skip


def test_times_for_people_carry_their_offset() -> None:
    shanghai = localtime.zone("Asia/Shanghai")
    at = ms("2026-03-01T16:30:00+00:00")
    assert localtime.text(at, shanghai) == "2026-03-02 00:30 +08:00"
    assert localtime.day_start_ms(at, shanghai) == ms("2026-03-02T00:00:00+08:00")
    assert localtime.next_day_start_ms(at, shanghai) == ms("2026-03-03T00:00:00+08:00")
    assert localtime.text(at, localtime.zone("UTC")) == "2026-03-01 16:30 +00:00"
    assert datetime.fromtimestamp(at / 1000, UTC).hour == 16
