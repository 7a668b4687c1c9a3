"""CSV exports of alarms, readings and history (both stores): UTF-8 with a BOM, read back with the
standard csv module; readings stream page by page."""

from __future__ import annotations

import csv
import io

import httpx

from central.api.exports import READINGS_PAGE
from protocols.wire import SiteMeta
from tests.central.api.handling_app import Desk, desk
from tests.central.builders import T0, event, events_batch, key, readings_batch

__all__ = ["desk"]

SITE = SiteMeta("slope-north", "北坡矿山边坡", "mine_slope", 30.5, 110.3)


def table(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith("\ufeff".encode())  # the BOM: Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_readings_stream_the_whole_window_page_by_page(desk: Desk) -> None:
    n = 2 * READINGS_PAGE + 20  # two channels: p0 gets READINGS_PAGE + 10 readings, more than a page
    desk.store.ingest(readings_batch("gw-1", range(1, n + 1), site=SITE), T0 + n * 1000)
    url = f"/api/v1/readings?channel={key('gw-1', 'dev-1', 'p0')}&start_ms={T0}&end_ms={T0 + (n + 1) * 1000}"
    rows = table(desk.client.get(f"{url}&format=csv", headers=desk.viewer))
    assert len(rows) == READINGS_PAGE + 10  # the JSON's limit does not apply
    assert [int(r["seq"]) for r in rows] == list(range(2, n + 1, 2))
    assert rows[0]["time"].endswith("+08:00") and rows[0]["ts_ms"] == str(T0 + 2000)
    by_accept = desk.client.get(url, headers={**desk.viewer, "Accept": "text/csv"})
    assert by_accept.content == desk.client.get(f"{url}&format=csv", headers=desk.viewer).content
    missing = desk.client.get("/api/v1/readings?channel=gw-1/dev-1/nope&format=csv", headers=desk.viewer)
    assert missing.status_code == 404


def test_alarms_and_history_as_csv(desk: Desk) -> None:
    desk.store.ingest(readings_batch("gw-1", range(1, 50), site=SITE), T0 + 60_000)
    desk.store.ingest(
        events_batch("gw-1", [event("gw-1", 100, 3, 0), event("gw-1", 101, 2, 0, rule="rate")], 2),
        T0 + 60_000,
    )
    rows = table(desk.client.get("/api/v1/alarms?format=csv&limit=1", headers=desk.viewer))
    assert [(r["id"], r["rule"], r["level"], r["category"], r["site_id"]) for r in rows] == [
        ("2", "rate", "2", "hazard", "slope-north"), ("1", "level", "3", "hazard", "slope-north"),
    ]  # fmt: skip
    history = f"/api/v1/history?channel={key('gw-1', 'dev-1', 'p1')}&bucket=1h&start_ms={T0}"
    history += f"&end_ms={T0 + 3_600_000}&format=csv"
    [bucket] = table(desk.client.get(history, headers=desk.viewer))
    assert (bucket["count"], bucket["min"], bucket["max"]) == ("25", "1.0", "49.0")
