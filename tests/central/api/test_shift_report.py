"""The shift handover against a scripted day, on both stores, as JSON, CSV and printable HTML."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from protocols.records import Event
from protocols.wire import SiteMeta
from tests.central.api.handling_app import Desk, desk
from tests.central.builders import events_batch, readings_batch

__all__ = ["desk"]

SLOPE = SiteMeta("slope-north", "北坡矿山边坡", "mine_slope", 30.5, 110.3)
TANKS = SiteMeta("tank-area-c", "C 区储罐", "tank_farm", 30.6, 110.4)
DAY = "2026-03-02"


def at(local_time: str) -> int:
    """Epoch ms of a Beijing time of the scripted day."""
    return int(datetime.fromisoformat(f"{DAY}T{local_time}:00+08:00").timestamp() * 1000)


def fire(d: Desk, seq: int, when: str, point: str, level: int, previous: int, rule: str = "level") -> None:
    e = Event(
        f"gw-1/dev-1/{point}", at(when), rule, level, previous, 1.0, f"{point} {previous}->{level}", seq=seq
    )
    d.store.ingest(events_batch("gw-1", [e], seq), at(when))


def act(d: Desk, when: str, path: str, body: object = None) -> None:
    d.now[0] = at(when)
    status, answer = d.post(path, body)
    assert status == 200, answer


def scripted_day(d: Desk) -> None:
    slope_beat = {"heartbeat_interval_s": 3600}  # reports hourly: not silent at 14:05
    d.store.ingest(readings_batch("gw-1", [100], site=SLOPE, batch_id=100, heartbeat=slope_beat), at("06:00"))
    fire(d, 1, "07:00", "p0", 2, 0)  # before the shift, acknowledged in it, still active at its end
    act(d, "08:30", "/api/v1/alarms/1/acknowledge", {"note": "巡查人员已出发"})
    fire(d, 2, "09:00", "p1", 3, 0)  # raised, cleared, closed: never acknowledged
    fire(d, 3, "10:00", "p1", 0, 3)
    act(d, "11:00", "/api/v1/alarms/2/close", {"handling": "复测位移已稳定"})
    fire(d, 4, "12:00", "p2", 1, 0, rule="stuck")  # shelved
    act(d, "12:10", "/api/v1/alarms/3/shelve", {"duration_s": 3600, "reason": "传感器维护"})
    # the tank farm's 4G link drops from 13:59 (last report) until 14:20
    d.store.ingest(
        readings_batch("gw-t", [1], site=TANKS, heartbeat={"heartbeat_interval_s": 60}), at("13:59")
    )
    d.store.check_silence(at("14:05"), 3.0, 60.0, 3)
    d.store.ingest(readings_batch("gw-t", [2], site=TANKS, batch_id=2), at("14:20"))


def report(d: Desk, query: str = "") -> dict:  # type: ignore[type-arg]
    return d.get(f"/api/v1/reports/shift?start={at('08:00')}&end={at('20:00')}{query}")


def test_the_shift_report_tells_the_next_shift_what_happened(desk: Desk) -> None:
    scripted_day(desk)
    r = report(desk, "&tz=Asia/Shanghai")
    assert (r["start_text"], r["end_text"]) == (f"{DAY} 08:00 +08:00", f"{DAY} 20:00 +08:00")
    slope, tanks = r["sites"]
    assert {k: slope[k] for k in ("site_id", "site_name", "opened", "still_active", "acknowledged",
                                  "not_acknowledged", "shelved", "faults")} == {
        "site_id": "slope-north", "site_name": "北坡矿山边坡", "opened": 2, "still_active": 2,
        "acknowledged": 1, "not_acknowledged": 1, "shelved": 1, "faults": 0,
    }  # fmt: skip
    # alarm 2 waited from 09:00 until closed at 11:00; alarm 3 (shelved, never acknowledged) waits on
    assert (slope["longest_unacknowledged_wait_s"], slope["longest_wait_alarm_id"]) == (8 * 3600, 3)
    [closed] = slope["closed"]
    assert (closed["alarm_id"], closed["handling"], closed["closed_by"], closed["forced"]) == (
        2, "复测位移已稳定", "alice", False,
    )  # fmt: skip
    assert closed["closed_text"] == f"{DAY} 11:00 +08:00"
    assert slope["silent_periods"] == []
    assert (tanks["faults"], tanks["opened"], tanks["still_active"]) == (1, 1, 0)
    [silence] = tanks["silent_periods"]
    assert (silence["gateway_id"], silence["duration_s"], silence["start_text"], silence["end_text"]) == (
        "gw-t", 15 * 60, f"{DAY} 14:05 +08:00", f"{DAY} 14:20 +08:00",
    )  # fmt: skip
    assert r["totals"]["opened"] == 3 and r["totals"]["longest_unacknowledged_wait_s"] == 8 * 3600


def test_a_shift_that_saw_nothing_and_bad_windows(desk: Desk) -> None:
    scripted_day(desk)
    quiet = desk.get(f"/api/v1/reports/shift?start={at('20:00')}&end={at('20:30')}")
    assert [s["opened"] for s in quiet["sites"]] == [0, 0]  # the slope's alarms are still there
    assert quiet["time_zone"] == "Asia/Shanghai"  # the command center's, by default
    for query in (f"start={at('09:00')}&end={at('08:00')}", "tz=Nowhere/Land&start=0&end=1000"):
        assert desk.client.get(f"/api/v1/reports/shift?{query}", headers=desk.viewer).status_code == 400


def test_the_csv_opens_in_a_spreadsheet_with_its_bom(desk: Desk) -> None:
    scripted_day(desk)
    url = f"/api/v1/reports/shift?start={at('08:00')}&end={at('20:00')}"
    for r in (
        desk.client.get(f"{url}&format=csv", headers=desk.viewer),
        desk.client.get(url, headers={**desk.viewer, "Accept": "text/csv"}),
    ):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese names
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [(x["site_name"], x["opened"], x["handling"], x["silent_s"]) for x in rows] == [
            ("北坡矿山边坡", "2", "复测位移已稳定", "0"), ("C 区储罐", "1", "", "900"),
        ]  # fmt: skip


def test_the_printable_page_is_chinese_by_default(desk: Desk) -> None:
    scripted_day(desk)
    url = f"/api/v1/reports/shift?start={at('08:00')}&end={at('20:00')}&format=html"
    page = desk.client.get(url, headers=desk.viewer)
    assert page.headers["content-type"].startswith("text/html")
    assert "交接班报告" in page.text and "复测位移已稳定" in page.text and f"{DAY} 14:05 +08:00" in page.text
    assert "8小时00分" in page.text and "15分钟" in page.text  # the longest wait, the 4G outage
    english = desk.client.get(url + "&lang=en", headers=desk.viewer).text
    assert "Shift handover" in english and "Closed, with handling" in english and "8 h 00 min" in english


def test_a_site_with_its_own_time_zone_reads_its_times_in_it(desk: Desk) -> None:
    west = SiteMeta("far-west", "西部站点", "reservoir", 43.8, 87.6, time_zone="Asia/Urumqi")
    desk.store.ingest(readings_batch("gw-w", [1], site=west), at("06:00"))
    raised = Event("gw-w/dev-1/p0", at("09:00"), "level", 2, 0, 1.0, "high", seq=2)
    desk.store.ingest(events_batch("gw-w", [raised], 2), at("09:00"))
    act(desk, "10:00", "/api/v1/alarms/1/close", {"handling": "水位回落", "force": True})
    [site] = report(desk)["sites"]
    assert (site["time_zone"], site["closed"][0]["closed_text"]) == ("Asia/Urumqi", f"{DAY} 08:00 +06:00")


def test_the_printable_page_escapes_what_officers_typed(desk: Desk) -> None:
    scripted_day(desk)
    act(desk, "19:00", "/api/v1/alarms/1/close", {"handling": "<script>alert(1)</script>", "force": True})
    url = f"/api/v1/reports/shift?start={at('08:00')}&end={at('20:00')}&format=html"
    page = desk.client.get(url, headers=desk.viewer).text
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
