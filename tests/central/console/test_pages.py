"""The console in a real browser (headless chromium), against a real central holding the demo's county."""

from __future__ import annotations

import base64
import gzip
import math
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi import Response as FastApiResponse
from playwright.sync_api import Locator, Response, expect

from central.auth import Role
from protocols.quality import Quality
from protocols.records import ReadingBlock
from protocols.wire import Batch, ChannelMeta
from tests.central.client import add_token
from tests.central.console.conftest import OPERATOR, County, Visit
from tests.central.console.county import MINE, TANKS, TOWER, fire_alarm, next_seq

pytestmark = pytest.mark.slow

LEVEL_RGB = {1: "rgb(47, 124, 246)", 2: "rgb(242, 197, 0)", 3: "rgb(255, 138, 0)", 4: "rgb(229, 50, 45)"}
LIVE_TIMEOUT_MS = 10_000  # the 2 s target is bench/console.py's to measure, not a test's to time


def pin(visit: Visit, site_id: str) -> Locator:
    return visit.page.locator(f'.site-pin[data-site-id="{site_id}"]')


def test_the_map_shows_each_site_in_its_level_colour(visit: Visit, county: County) -> None:
    visit.sign_in(county.operator)
    # the tower's only alarm is a device offline: a fault, which never colours a site as a hazard
    tower = pin(visit, TOWER.site.id)
    expect(tower).to_have_attribute("data-level", "0")
    expect(tower).to_have_attribute("data-faults", "1")  # shown apart: a badge of its own colour
    expect(tower).to_have_attribute("data-blind", "false")  # its other devices still measure
    badge = tower.locator(".fault-badge").evaluate("e => getComputedStyle(e).backgroundColor")
    assert badge not in LEVEL_RGB.values()
    for spec, level in ((MINE, 3), (TANKS, 2)):
        marker = pin(visit, spec.site.id)
        expect(marker).to_have_attribute("data-level", str(level))
        colour = marker.locator("i").evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == LEVEL_RGB[level], spec.site.id
        expect(visit.page.locator(".site-label", has_text=spec.site.name)).to_be_visible()
    rows = visit.page.locator(".alarm-row")
    levels = [int(x) for x in rows.evaluate_all("rows => rows.map(r => r.dataset.level)")]
    statuses = rows.evaluate_all("rows => rows.map(r => r.dataset.status)")
    live = [lvl for lvl, s in zip(levels, statuses, strict=True) if s != "cleared"]
    assert live == sorted(live, reverse=True) and live[0] == 3  # highest first; the cleared one last
    assert statuses[-1] == "cleared"


def test_a_red_alarm_from_a_gateway_shows_live_on_the_desk_and_the_map(visit: Visit, county: County) -> None:
    visit.sign_in(county.operator)
    expect(visit.page.locator("[data-live=up]")).to_be_visible()
    seq = next_seq(county.store, TOWER.gateway)
    sent = time.monotonic()
    county.send(fire_alarm(seq, county.end_ms + 1000))
    row = visit.page.locator('.alarm-row[data-level="4"]')
    expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(pin(visit, TOWER.site.id)).to_have_attribute("data-level", "4", timeout=LIVE_TIMEOUT_MS)
    seen_s = time.monotonic() - sent
    expect(row).to_have_class(re.compile(r"\bflash\b"))  # announced
    assert visit.page.locator(".alarm-row").first.get_attribute("data-level") == "4"  # at the top
    assert visit.page.title().startswith("(2)")  # the red and the mine's orange wait for someone
    print(f"red alarm on the desk and the map {seen_s:.2f} s after the gateway sent it")
    row.click()  # what fired, from the structured fields in the page's language, not the English message
    expect(visit.page.locator(".cause-text")).to_have_text("测量值 182 ℃,上升超过阈值 120 ℃")


def test_acknowledge_and_close_from_the_alarm_page_show_on_its_timeline(visit: Visit, county: County) -> None:
    visit.sign_in(county.operator)
    page = visit.page
    page.locator('.alarm-row[data-level="3"]').first.click()
    alarm = page.locator(".alarm-page")
    expect(alarm).to_have_attribute("data-status", "open")
    alarm_id = alarm.get_attribute("data-alarm-id")
    page.fill("form[data-action=acknowledge] textarea[name=note]", "已电话通知矿方,撤离四号台阶作业人员")
    page.click("form[data-action=acknowledge] button[type=submit]")
    acknowledged = page.locator(".timeline li[data-kind=acknowledged]")
    expect(acknowledged).to_contain_text(OPERATOR)
    expect(acknowledged).to_contain_text("撤离四号台阶")
    expect(alarm).to_have_attribute("data-status", "acknowledged")
    page.fill("form[data-action=close] textarea[name=handling]", "台阶排水、复测;位移已停止")
    page.click("form[data-action=close] button[type=submit]")
    # still acknowledged (active): the page's close is a forced close, confirmed, marked so on the timeline
    expect(page.locator("form[data-action=close] .error")).to_have_text("请勾选确认强制关闭。")
    expect(alarm).to_have_attribute("data-status", "acknowledged")
    page.check("form[data-action=close] input[name=force]")
    page.click("form[data-action=close] button[type=submit]")
    expect(page.locator(".timeline li[data-kind=forced_close]")).to_contain_text("位移已停止")
    expect(alarm).to_have_attribute("data-status", "closed")
    page.click("a.back")
    expect(page.locator(f'.alarm-row[data-alarm-id="{alarm_id}"]')).to_have_count(0)  # off the desk
    closed = county.store.alarm(int(alarm_id or 0)).alarm
    assert (closed.status, closed.closed_by, closed.acknowledged_by) == ("closed", OPERATOR, OPERATOR)


def test_a_refused_action_says_why(visit: Visit, county: County) -> None:
    viewer = add_token(county.store, Role.VIEWER, name="大屏")
    visit.sign_in(viewer)
    page = visit.page
    page.locator('.alarm-row[data-level="3"]').first.click()
    page.fill("form[data-action=close] textarea[name=handling]", "   ")
    page.click("form[data-action=close] button[type=submit]")
    expect(page.locator("form[data-action=close] .error")).to_have_text(
        "请填写处置情况。"
    )  # blank is not handling
    page.fill("form[data-action=acknowledge] textarea[name=note]", "看到了")
    page.click("form[data-action=acknowledge] button[type=submit]")
    expect(page.locator("form[data-action=acknowledge] .error")).to_contain_text("无权操作")  # a viewer: 403
    expect(page.locator(".alarm-page")).to_have_attribute("data-status", "open")


def rendering_fonts(visit: Visit, selector: str) -> dict[str, int]:
    """The platform fonts chromium drew ``selector``'s text with, and how many glyphs each drew."""
    cdp = visit.page.context.new_cdp_session(visit.page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {f["familyName"]: f["glyphCount"] for f in fonts}


def test_chinese_by_default_in_the_command_centers_time_with_an_english_switch(
    visit: Visit, county: County
) -> None:
    visit.sign_in(county.operator)
    page = visit.page
    expect(page.locator(".desk-head h2")).to_have_text("预警值守台")
    expect(page.locator('.alarm-row[data-level="3"] .level-badge').first).to_have_text("橙色预警")
    fonts = rendering_fonts(visit, ".desk-head h2")
    assert any("CJK" in name for name in fonts), fonts  # drawn with a CJK font, not boxes
    assert sum(fonts.values()) == len("预警值守台"), fonts
    expect(page.locator(".clock small")).to_have_text("UTC+8")  # the browser itself runs in UTC
    page.locator('.alarm-row[data-level="3"]').first.click()
    alarm = county.store.alarm(int(page.locator(".alarm-page").get_attribute("data-alarm-id") or 0)).alarm
    local = datetime.fromtimestamp(alarm.opened_ms / 1000, ZoneInfo("Asia/Shanghai"))
    expect(page.locator(".kv tr", has_text="触发时间")).to_contain_text(local.strftime("%Y-%m-%d %H:%M:%S"))

    page.click("[data-language=en]")
    expect(page.locator(".alarm-page h2").first).to_have_text("What fired")
    expect(page.locator(".alarm-page h1 .level-badge")).to_have_text("Orange warning")
    page.reload()
    visit.ready()
    expect(page.locator(".alarm-page .kv tr", has_text="Raised")).to_be_visible()  # the choice is kept
    page.click("[data-language=zh]")
    expect(page.locator(".alarm-page h2").first).to_have_text("预警原因")


def test_nothing_is_fetched_from_outside_the_central(visit: Visit, county: County) -> None:
    visit.sign_in(county.operator)  # the map with no tile server, the desk, the stream
    visit.page.locator(".site-pin").first.click()  # a popup reads latest values
    expect(visit.page.locator(".site-popup .kv tr").first).to_be_visible()
    visit.page.goto(county.url + "/docs")
    expect(visit.page.locator(".swagger-ui .info .title")).to_contain_text("FieldWatch central")
    expect(visit.page.locator(".opblock-tag-section").first).to_be_visible()
    # the visit fixture fails the test if any request went elsewhere; say it here too
    assert visit.outside == []


BUDGET_BYTES = 500 * 1024  # compressed, everything the first screen fetches


def test_the_first_load_stays_under_its_budget(visit: Visit, county: County) -> None:
    responses: list[Response] = []
    visit.page.on("response", lambda r: responses.append(r))  # noqa: PLW0108 (Playwright wraps functions only)
    visit.sign_in(county.operator)
    visit.page.wait_for_timeout(1000)  # the stream's subscription reads the state once more
    sizes = {}
    for r in responses:
        if "text/event-stream" in r.headers.get("content-type", ""):
            continue  # the live stream never ends
        sizes[r.url.removeprefix(county.url)] = len(gzip.compress(r.body(), 6))
    total = sum(sizes.values())
    print(f"first load: {len(sizes)} responses, {total / 1024:.1f} KiB gzipped")
    assert "/console/vendor/leaflet/leaflet.js" in sizes and "/api/v1/map" in sizes  # it did load the map
    assert total < BUDGET_BYTES, sorted(sizes.items(), key=lambda kv: -kv[1])


def test_a_broken_live_link_is_shown_and_the_state_read_again_after_it(visit: Visit, county: County) -> None:
    visit.sign_in(county.operator)
    page = visit.page
    expect(page.locator("[data-live=up]")).to_be_visible()
    county.server.stop()  # the central restarts
    banner = page.locator("[data-banner=live-down]")
    expect(banner).to_contain_text("实时连接中断", timeout=LIVE_TIMEOUT_MS)
    expect(banner).to_contain_text(re.compile(r"自 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d 起"))
    # meanwhile the tower's camera sees a fire (committed while no stream could announce it)
    county.store.ingest(
        fire_alarm(next_seq(county.store, TOWER.gateway), county.end_ms + 1000), county.end_ms
    )
    county.server.start()
    expect(banner).to_have_count(0, timeout=3 * LIVE_TIMEOUT_MS)
    expect(page.locator("[data-live=up]")).to_be_visible()
    red = page.locator('.alarm-row[data-level="4"]')
    expect(red).to_be_visible()  # read again on reconnecting
    expect(red).to_have_class(re.compile(r"\bflash\b"))  # and announced: it is new to this page
    expect(pin(visit, TOWER.site.id)).to_have_attribute("data-level", "4")


def test_login_takes_a_reader_token_and_sign_out_forgets_it(visit: Visit, county: County) -> None:
    page = visit.page
    page.goto(county.url + "/")
    form = page.locator("form.login")
    expect(form.locator("button[type=submit]")).to_be_visible()
    page.click("[data-login=token]")
    page.fill("input[name=token]", "fwt_000000000000_" + "x" * 43)
    page.click("button[type=submit]")
    expect(form.locator(".error")).to_have_text("令牌无效或已被吊销。")
    page.fill("input[name=token]", county.tower)  # a gateway's token may not read
    page.click("button[type=submit]")
    expect(form.locator(".error")).to_contain_text("无权查看")
    page.fill("input[name=token]", county.operator)
    page.click("button[type=submit]")
    visit.ready()
    page.click("text=退出")
    expect(page.locator("input[name=username]")).to_be_visible()
    page.reload()
    expect(page.locator("input[name=username]")).to_be_visible()  # the token is gone from the tab


def quality_batch(seq: int, end_ms: int) -> Batch:
    """The tower's north ridge station stops answering (a void reading), and a barometer that last
    reported an hour ago."""
    keys = [f"{TOWER.gateway}/ridge-north/temperature", f"{TOWER.gateway}/mast-weather/pressure"]
    block = ReadingBlock.of(
        np.array([0, 1]), np.array([end_ms + 500, end_ms - 3_600_000]), np.array([math.nan, 1013.2]),
        np.array([int(Quality.COMM_ERROR), 0], dtype=np.uint32),
    )  # fmt: skip
    return Batch(
        TOWER.gateway, seq, end_ms, keys, block, np.array([seq, seq + 1]),
        channels=[ChannelMeta(keys[1], "hPa", "weather_ascii")],
    )  # fmt: skip


def test_a_sites_page_marks_bad_and_stale_values_and_charts_a_channel(visit: Visit, county: County) -> None:
    county.send(quality_batch(next_seq(county.store, TOWER.gateway), county.end_ms))
    visit.sign_in(county.operator)
    page = visit.page
    pin(visit, TOWER.site.id).click()
    page.click(".site-popup a.more")
    site = page.locator(".site-page")
    expect(site).to_have_attribute("data-site-id", TOWER.site.id)
    rows = site.locator("tr.reading")
    expect(rows).to_have_count(len(TOWER.points) + 1)
    expect(site.locator(f'tr[data-channel="{TOWER.gateway}/ridge-north/temperature"]')).to_have_attribute(
        "data-quality", "bad"
    )
    expect(site.locator(f'tr[data-channel="{TOWER.gateway}/mast-weather/pressure"]')).to_have_attribute(
        "data-quality", "stale"
    )
    expect(site.locator(f'tr[data-channel="{TOWER.gateway}/camera/hotspot_c"]')).to_have_attribute(
        "data-quality", "good"
    )
    expect(site.locator(f'tr[data-channel="{TOWER.gateway}/camera/hotspot_c"] td.num')).to_contain_text("℃")
    site.locator(f'tr[data-channel="{TOWER.gateway}/camera/hotspot_c"] button').click()
    chart = site.locator(".chart")
    expect(chart.locator("canvas")).to_be_visible()
    six_hours = int(chart.get_attribute("data-points") or 0)
    assert 200 < six_hours <= 360  # 4 h of 30 s readings in 1-minute buckets
    site.locator("[data-period='2d']").click()
    expect(chart).not_to_have_attribute("data-points", str(six_hours))  # 10-minute buckets now
    expect(site.locator("tr[data-alarm-id]")).to_have_count(1)  # the ridge's device offline alarm


def test_the_fleet_lists_every_gateway_with_its_link_and_backlog(visit: Visit, county: County) -> None:
    visit.sign_in(county.operator)
    visit.page.click("nav >> text=网关")
    rows = visit.page.locator(".fleet tr[data-gateway-id]")
    expect(rows).to_have_count(3)
    for spec in (MINE, TANKS, TOWER):
        row = visit.page.locator(f'.fleet tr[data-gateway-id="{spec.gateway}"]')
        expect(row).to_have_attribute("data-status", "online")
        expect(row).to_contain_text("在线")
        expect(row).to_contain_text("0 条")
        expect(row).to_contain_text("0.1.0")
        expect(row).to_contain_text("设备 2/2 在线")


def tile_server(hits: list[str]) -> Callable[[FastAPI], None]:
    """A county tile server on the central's own port, counting what it serves."""
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkaGj4DwAEhAGAhXm8ZwAAAABJRU5ErkJggg=="
    )

    def add(app: FastAPI) -> None:
        @app.get("/tiles/{z}/{x}/{y}.png")
        async def tile(z: int, x: int, y: int) -> FastApiResponse:
            hits.append(f"{z}/{x}/{y}")
            return FastApiResponse(png, media_type="image/png")

    return add


TILE_HITS: list[str] = []
OUTLINE = Path(__file__).with_name("county-outline.geojson")


@pytest.mark.parametrize(
    "county",
    [{"settings": {"map_tiles": "tiles/{z}/{x}/{y}.png"}, "app": tile_server(TILE_HITS)}],
    indirect=True,
)
def test_the_basemap_comes_from_the_tile_url_setting(visit: Visit, county: County) -> None:
    visit.sign_in(county.operator)
    expect(visit.page.locator(".leaflet-tile-loaded").first).to_be_attached()
    assert any(int(hit.split("/")[0]) >= 9 for hit in TILE_HITS), TILE_HITS  # the county, close up
    expect(visit.page.locator(".grid-label")).to_have_count(0)  # no grid over real tiles


@pytest.mark.parametrize("county", [{"settings": {"map_boundaries": str(OUTLINE)}}], indirect=True)
def test_without_tiles_the_map_draws_a_grid_and_the_shipped_outlines(visit: Visit, county: County) -> None:
    visit.sign_in(county.operator)
    expect(visit.page.locator("path.boundary")).to_have_count(1)
    labels = visit.page.locator(".grid-label").all_inner_texts()
    assert any(t.endswith("°N") for t in labels) and any(t.endswith("°E") for t in labels), labels
    expect(visit.page.locator(".leaflet-tile")).to_have_count(0)


def test_the_desk_works_from_the_keyboard(visit: Visit, county: County) -> None:
    visit.sign_in(county.operator)
    page = visit.page
    page.focus('select[name="level"]')
    page.select_option('select[name="level"]', "3")  # orange and above
    expect(page.locator(".alarm-row")).to_have_count(1)
    page.keyboard.press("Tab")  # the status filter
    page.keyboard.press("Tab")  # the first row
    assert page.evaluate("document.activeElement.dataset.level") == "3"
    page.keyboard.press("Enter")
    expect(page.locator(".alarm-page")).to_have_attribute("data-level", "3")
    page.go_back()
    expect(page.locator(".alarm-row")).to_have_count(1)  # the filter is kept
    page.select_option('select[name="level"]', "0")
