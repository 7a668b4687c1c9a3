"""Alarm handling and accounts in the console, in a real browser: a person comments, assigns, shelves and
unshelves from the alarm's page (each on the timeline with their name), the desk filters by category and
keeps shelved alarms one click away, and an enterprise's operator sees only its own site."""

from __future__ import annotations

import math

import pytest
from playwright.sync_api import Page, expect

from central.accounts.users import new_user
from central.store.account_records import Org
from central.store.accounts import AccountStore
from central.store.records import AlarmFilter
from protocols.wire import Batch
from tests.central.console.conftest import County, Visit
from tests.central.console.county import MINE, TANKS, TOWER, event, next_seq

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
DUTY = "值班员 王"


def add_person(county: County, username: str, org: str, display_name: str, role: str = "operator") -> None:
    user = new_user(username, org, role, display_name=display_name, password=PASSWORD, now_ms=0)
    AccountStore(county.store).add_user(user)


def act(page: Page, action: str) -> None:
    page.click(f"form[data-action={action}] button[type=submit]")


def test_comment_assign_shelve_and_unshelve_show_on_the_timeline_with_the_persons_name(
    visit: Visit, county: County
) -> None:
    add_person(county, "duty", "county", DUTY)
    visit.sign_in_as("duty", PASSWORD)
    page = visit.page
    page.locator('.alarm-row[data-level="3"]').first.click()
    alarm = page.locator(".alarm-page")
    alarm_id = alarm.get_attribute("data-alarm-id")
    timeline = page.locator(".timeline")
    who = f"{DUTY} (duty)"

    act(page, "comment")
    expect(page.locator("form[data-action=comment] .error")).to_have_text("请填写备注内容。")
    page.fill("form[data-action=comment] textarea[name=note]", "矿方现场巡查,坡顶无新裂缝")
    act(page, "comment")
    expect(timeline.locator("li[data-kind=commented]")).to_contain_text(who)
    expect(timeline.locator("li[data-kind=commented]")).to_contain_text("坡顶无新裂缝")

    page.fill("form[data-action=assign] input[name=assignee]", "张工")
    act(page, "assign")
    expect(timeline.locator("li[data-kind=assigned]")).to_contain_text(who)
    expect(page.locator(".kv")).to_contain_text("张工")

    page.select_option("form[data-action=shelve] select[name=hours]", "2")
    page.fill("form[data-action=shelve] input[name=reason]", "四号台阶爆破作业")
    act(page, "shelve")
    expect(timeline.locator("li[data-kind=shelved]")).to_contain_text(who)
    expect(timeline.locator("li[data-kind=shelved]")).to_contain_text("爆破作业")
    expect(page.locator("form[data-action=unshelve]")).to_be_visible()

    page.click("a.back")
    row = page.locator(f'.alarm-row[data-alarm-id="{alarm_id}"]')
    expect(row).to_have_count(0)  # shelved: off the desk
    page.click("button[data-desk=active]")  # the shelved list, one click away
    expect(row).to_be_visible()
    row.click()
    act(page, "unshelve")
    expect(timeline.locator("li[data-kind=unshelved]")).to_contain_text(who)
    page.click("a.back")
    expect(page.locator("button[data-desk=active]")).to_contain_text("(0)")
    expect(row).to_be_visible()  # on the desk again
    # the timeline is in the order the central recorded it
    recorded = alarm_kinds(county, int(alarm_id or 0))
    assert recorded[-4:] == ["commented", "assigned", "shelved", "unshelved"]


def alarm_kinds(county: County, alarm_id: int) -> list[str]:
    return [e.kind for e in county.store.alarm(alarm_id).timeline]


def test_the_desk_filters_by_category(visit: Visit, county: County) -> None:
    visit.sign_in(county.operator)
    page = visit.page
    rows = page.locator(".alarm-row")
    expect(rows.first).to_be_visible()
    page.select_option(".desk select[name=category]", "fault")
    expect(rows).to_have_count(1)  # the tower's device offline
    expect(rows.first).to_have_attribute("data-category", "fault")
    page.select_option(".desk select[name=category]", "hazard")
    categories = rows.evaluate_all("rows => rows.map(r => r.dataset.category)")
    assert categories and set(categories) == {"hazard"}


def test_an_enterprise_operator_sees_only_its_site(visit: Visit, county: County) -> None:
    accounts = AccountStore(county.store)
    accounts.add_org(Org("ent-tanks", "储罐区企业", "county", 0))
    accounts.assign_site(TANKS.site.id, "ent-tanks")
    add_person(county, "tanks.op", "ent-tanks", "储罐区 值班")
    visit.sign_in_as("tanks.op", PASSWORD)
    page = visit.page
    expect(page.locator(".topbar .who")).to_have_text("储罐区 值班")
    expect(page.locator(".topbar .org")).to_have_text("储罐区企业")
    pins = page.locator(".site-pin")
    expect(pins).to_have_count(1)
    expect(pins.first).to_have_attribute("data-site-id", TANKS.site.id)
    expect(page.locator(".alarm-row")).to_have_count(2)  # the tank's standing loss and the gas detector
    (mine_alarm, *_) = county.store.alarms(AlarmFilter(site_id=MINE.site.id)).data
    page.goto(f"{county.url}/#/alarms/{mine_alarm.id}")  # another enterprise's alarm: 404, said so
    expect(page.locator(".page .error")).to_have_text("没有这条预警,或您无权查看。")
    page.click(".topbar nav a[href='#/']")
    expect(pins).to_have_count(1)  # the page still works


def test_a_blind_site_is_marked_and_keeps_its_hazard_colour(visit: Visit, county: County) -> None:
    visit.sign_in(county.operator)
    tower = visit.page.locator(f'.site-pin[data-site-id="{TOWER.site.id}"]')
    expect(tower).to_have_attribute("data-blind", "false")
    seq = next_seq(county.store, TOWER.gateway)
    ts_ms = county.end_ms + 1000
    offline = [  # the ridge station is already offline: now every device of the tower is
        event(TOWER, seq + i, ts_ms, device, "_device", "comm", 1, 0, math.nan, f"{device}: device offline")
        for i, device in enumerate(("mast-weather", "camera"))
    ]
    county.send(Batch(TOWER.gateway, seq, ts_ms, events=offline))
    expect(tower).to_have_attribute("data-blind", "true")  # a blind site is not a safe site
    expect(tower).to_have_attribute("data-faults", "3")
    expect(tower).to_have_attribute("data-level", "0")  # faults never take the hazard colour
    tower.click()
    expect(visit.page.locator(".site-popup .blind-note")).to_be_visible()


def test_a_viewer_person_gets_the_alarm_page_without_actions(visit: Visit, county: County) -> None:
    add_person(county, "wall", "county", "大屏", role="viewer")
    visit.sign_in_as("wall", PASSWORD)
    page = visit.page
    page.locator('.alarm-row[data-level="3"]').first.click()
    expect(page.locator(".timeline li").first).to_be_visible()
    expect(page.locator("[data-read-only=true]")).to_have_text("您的账号为只读(查看员),不能处置预警。")
    expect(page.locator("form[data-action]")).to_have_count(0)
