"""Alarm handling a command center can trust, through HTTP on both stores: hazards apart from faults,
guarded close, shelving, sort and level names, comments and assignment."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from central.settings import SettingsError, load_settings
from protocols.wire import SiteMeta
from tests.central.api.handling_app import Desk, desk
from tests.central.builders import T0, event, events_batch, key, readings_batch

__all__ = ["desk"]

TANKS = SiteMeta("tank-area-c", "Tank area C", "tank_farm", 30.6, 110.4)
HOUR_MS = 3_600_000


def tank_farm(d: Desk) -> None:
    """A gateway at the tank farm with one device of two channels reporting every 10 s."""
    d.store.ingest(
        readings_batch("gw-t", range(1, 11), site=TANKS, heartbeat={"heartbeat_interval_s": 10}), T0 + 10_000
    )


def site(d: Desk, site_id: str) -> dict[str, Any]:
    return next(s for s in d.get("/api/v1/sites")["data"] if s["id"] == site_id)


def listed(d: Desk, query: str = "") -> list[int]:
    return [a["id"] for a in d.get(f"/api/v1/alarms{query}")["data"]]


def kinds(d: Desk, alarm_id: int) -> list[str]:
    return [e["kind"] for e in d.get(f"/api/v1/alarms/{alarm_id}")["timeline"]]


# ---------------------------------------------------------------- hazards and faults


def test_a_link_outage_is_a_fault_and_never_colours_the_site(desk: Desk) -> None:
    tank_farm(desk)
    alarms, _ = desk.store.check_silence(T0 + 60_000, 3.0, 60.0, 3)  # 4G down: silent 50 s > 3 x 10 s
    assert [(a.rule, a.level, a.category) for a in alarms] == [("gateway_silent", 3, "fault")]
    s = site(desk, "tank-area-c")
    assert (s["worst_hazard_level"], s["faults"], s["blind"]) == (0, {"count": 1, "worst_level": 3}, True)
    assert s["worst_level"] == 3  # the old field still counts everything
    features = desk.get("/api/v1/map")["features"]
    props = next(f["properties"] for f in features if f["id"] == "site:tank-area-c")
    assert (props["worst_hazard_level"], props["faults"]["count"], props["blind"]) == (0, 1, True)
    # the link is back (the silence clears) and a real hazard colours the site
    back = readings_batch("gw-t", [11], site=TANKS, batch_id=2, events=[event("gw-t", 12, 2, 0)])
    desk.store.ingest(back, T0 + 70_000)
    s = site(desk, "tank-area-c")
    assert (s["worst_hazard_level"], s["faults"], s["blind"]) == (2, {"count": 0, "worst_level": 0}, False)


def test_a_site_is_blind_only_when_every_sensor_is_faulted(desk: Desk) -> None:
    tank_farm(desk)  # dev-1 with p0, p1
    offline = event("gw-t", 11, 2, 0, rule="comm", channel=key("gw-t", "dev-1", "_device"))
    desk.store.ingest(events_batch("gw-t", [offline], 2), T0 + 20_000)
    assert site(desk, "tank-area-c")["blind"] is True
    other = readings_batch("gw-t", [12], site=TANKS, batch_id=3)  # same device: still blind
    desk.store.ingest(other, T0 + 21_000)
    assert site(desk, "tank-area-c")["blind"] is True
    answering = event("gw-t", 13, 0, 2, rule="comm", channel=key("gw-t", "dev-1", "_device"))
    stuck = event("gw-t", 14, 1, 0, rule="stuck", channel=key("gw-t", "dev-1", "p0"))
    desk.store.ingest(events_batch("gw-t", [answering, stuck], 4), T0 + 22_000)
    s = site(desk, "tank-area-c")
    assert (s["blind"], s["worst_hazard_level"]) == (False, 1)  # "stuck" is a name, not a fault kind
    sensor = event("gw-t", 15, 1, 0, rule="fault", channel=key("gw-t", "dev-1", "p1"))
    desk.store.ingest(events_batch("gw-t", [sensor], 5), T0 + 23_000)
    s = site(desk, "tank-area-c")
    assert (s["blind"], s["faults"]["count"]) == (False, 1)  # p0 still reports (with a hazard on it)
    replaced = event("gw-t", 16, 3, 0, rule="outbox_replaced", channel=key("gw-t", "_gateway", "_outbox"))
    desk.store.ingest(events_batch("gw-t", [replaced], 6), T0 + 24_000)
    s = site(desk, "tank-area-c")
    assert (s["blind"], s["faults"]["count"]) == (False, 2)  # rows lost, but the sensors still report


def test_the_rule_kind_decides_the_category_when_the_edge_sends_it(desk: Desk) -> None:
    tank_farm(desk)
    named = dataclasses.replace(event("gw-t", 11, 1, 0, rule="lel_sensor_dead"), rule_kind="fault")
    desk.store.ingest(events_batch("gw-t", [named], 2), T0)
    hazard = event("gw-t", 12, 3, 0, rule="lel_high", channel=key("gw-t", "dev-1", "p1"))
    desk.store.ingest(events_batch("gw-t", [hazard], 3), T0)
    assert [a["rule"] for a in desk.get("/api/v1/alarms?category=fault")["data"]] == ["lel_sensor_dead"]
    assert [a["rule"] for a in desk.get("/api/v1/alarms?category=hazard")["data"]] == ["lel_high"]


# ---------------------------------------------------------------- guarded close


def test_closing_an_active_alarm_needs_force_and_is_marked(desk: Desk) -> None:
    desk.store.ingest(events_batch("gw-1", [event("gw-1", 1, 3, 0)]), T0)
    status, body = desk.post("/api/v1/alarms/1/close", {"handling": "rain stopped"})
    assert status == 409 and "still open" in str(body["detail"])
    assert listed(desk) == [1]  # not hidden
    status, body = desk.post("/api/v1/alarms/1/close", {"handling": "   ", "force": True})
    assert (status, body["detail"]) == (400, "handling is blank: say what was done")
    status, body = desk.post(
        "/api/v1/alarms/1/close", {"handling": "gauge blocked; crew sent", "force": True}
    )
    assert (status, body["status"], body["forced_close"]) == (200, "closed", True)
    assert kinds(desk, 1) == ["raised", "forced_close"]
    # a cleared alarm closes without force, and is not marked
    desk.store.ingest(events_batch("gw-2", [event("gw-2", 1, 2, 0), event("gw-2", 2, 0, 2)]), T0)
    status, body = desk.post("/api/v1/alarms/2/close", {"handling": "checked on site"})
    assert (status, body["forced_close"]) == (200, False)
    assert kinds(desk, 2) == ["raised", "cleared", "closed"]


# ---------------------------------------------------------------- shelving


def test_shelved_alarms_leave_the_active_list_and_come_back_by_themselves(desk: Desk) -> None:
    desk.store.ingest(events_batch("gw-1", [event("gw-1", 1, 2, 0)]), T0)
    status, body = desk.post(
        "/api/v1/alarms/1/shelve", {"duration_s": 1800, "reason": "blasting until 15:00"}
    )
    assert (status, body["shelved_until_ms"], body["shelved_by"]) == (200, desk.now[0] + 1_800_000, "alice")
    assert listed(desk) == []
    assert listed(desk, "?shelved=true") == [1]
    desk.now[0] += 1_800_000  # the time is up: the list no longer hides it, even before the sweep
    assert listed(desk) == [1]
    assert [a.id for a in desk.store.expire_shelves(desk.now[0])] == [1]
    assert desk.store.expire_shelves(desk.now[0]) == []  # once
    detail = desk.get("/api/v1/alarms/1")
    assert detail["alarm"]["shelved_until_ms"] is None
    assert [(e["kind"], e["actor"]) for e in detail["timeline"]] == [
        ("raised", "gateway gw-1"), ("shelved", "alice"), ("unshelved", "central")
    ]  # fmt: skip


def test_an_escalation_while_shelved_is_recorded_and_unshelves(desk: Desk) -> None:
    desk.store.ingest(events_batch("gw-1", [event("gw-1", 1, 2, 0)]), T0)
    desk.post("/api/v1/alarms/1/shelve", {"until_ms": desk.now[0] + HOUR_MS, "reason": "known drainage work"})
    desk.store.ingest(events_batch("gw-1", [event("gw-1", 2, 4, 2)], 2), desk.now[0] + 1000)
    assert listed(desk) == [1]
    assert kinds(desk, 1) == ["raised", "shelved", "escalated", "unshelved"]


def test_shelving_is_refused_when_it_makes_no_sense(desk: Desk) -> None:
    desk.store.ingest(events_batch("gw-1", [event("gw-1", 1, 2, 0)]), T0)
    assert desk.post("/api/v1/alarms/1/shelve", {"reason": "no time given"})[0] == 400
    assert desk.post("/api/v1/alarms/1/shelve", {"until_ms": T0, "reason": "in the past"})[0] == 400
    assert desk.post("/api/v1/alarms/1/shelve", {"duration_s": 60, "reason": " "})[0] == 400
    assert desk.post("/api/v1/alarms/1/unshelve")[0] == 409  # not shelved
    assert desk.post("/api/v1/alarms/9/shelve", {"duration_s": 60, "reason": "x"})[0] == 404
    desk.post("/api/v1/alarms/1/shelve", {"duration_s": 60, "reason": "crew on it"})
    status, body = desk.post("/api/v1/alarms/1/unshelve")
    assert (status, body["shelved_until_ms"]) == (200, None)
    assert listed(desk) == [1]


# ---------------------------------------------------------------- sort, levels, comments, assignment


def test_sort_by_level_puts_the_highest_then_the_oldest_first(desk: Desk) -> None:
    desk.store.ingest(
        events_batch("gw-1", [
            event("gw-1", 1, 2, 0, channel=key("gw-1", "d", "a")),
            event("gw-1", 2, 4, 0, channel=key("gw-1", "d", "b")),
            event("gw-1", 3, 2, 0, channel=key("gw-1", "d", "c")),
            event("gw-1", 4, 3, 0, channel=key("gw-1", "d", "e")),
        ]),
        T0,
    )  # fmt: skip
    assert listed(desk, "?sort=level") == [2, 4, 1, 3]
    assert listed(desk, "?sort=opened") == [4, 3, 2, 1]
    assert listed(desk, "?min_level=orange&sort=level") == [2, 4]
    assert listed(desk, "?min_level=3&sort=level") == [2, 4]
    assert listed(desk, "?min_level=red") == [2]
    assert desk.client.get("/api/v1/alarms?min_level=purple", headers=desk.viewer).status_code == 422


def test_comments_and_assignment_change_no_status(desk: Desk) -> None:
    desk.store.ingest(events_batch("gw-1", [event("gw-1", 1, 3, 0)]), T0)
    status, body = desk.post("/api/v1/alarms/1/comment", {"note": "foreman on site, no cracks"})
    assert (status, body["status"]) == (200, "open")
    assert desk.post("/api/v1/alarms/1/comment", {"note": "\t "})[0] == 400
    status, body = desk.post("/api/v1/alarms/1/assign", {"assignee": "Li Wei"})
    assert (status, body["status"], body["assignee"]) == (200, "open", "Li Wei")
    assert desk.post("/api/v1/alarms/1/assign", {"assignee": None})[1]["assignee"] is None
    timeline = desk.get("/api/v1/alarms/1")["timeline"]
    assert [(e["kind"], e["note"]) for e in timeline] == [
        ("raised", "level 0 -> 3"), ("commented", "foreman on site, no cracks"), ("assigned", "Li Wei"),
        ("assigned", ""),
    ]  # fmt: skip


# ---------------------------------------------------------------- what fired


def test_what_fired_is_kept_on_the_alarm_and_its_timeline(desk: Desk) -> None:
    fields = {"rule_kind": "slope", "criterion": "tangent_angle", "unit": "deg", "threshold": 80.0,
              "direction": "rising"}  # fmt: skip
    raised = dataclasses.replace(event("gw-1", 1, 3, 0, rule="slope", value=81.2), **fields)
    cleared = dataclasses.replace(event("gw-1", 2, 0, 3, rule="slope"), rule_kind="slope")
    desk.store.ingest(events_batch("gw-1", [raised]), T0)
    alarm = desk.get("/api/v1/alarms/1")["alarm"]
    assert {k: alarm[k] for k in fields} == fields
    desk.store.ingest(events_batch("gw-1", [cleared], 2), T0)
    detail = desk.get("/api/v1/alarms/1")
    assert detail["alarm"]["criterion"] == "tangent_angle"  # a clear keeps what had fired
    first, second = detail["timeline"]
    assert (first["criterion"], first["threshold"], first["unit"]) == ("tangent_angle", 80.0, "deg")
    assert (second["criterion"], second["threshold"]) == (None, None)


def test_the_silence_level_takes_a_name_too() -> None:
    assert load_settings({"FIELDWATCH_SILENCE_ALARM_LEVEL": "yellow"}).silence_alarm_level == 2
    assert load_settings({"FIELDWATCH_SILENCE_ALARM_LEVEL": "4"}).silence_alarm_level == 4
    with pytest.raises(SettingsError, match="SILENCE_ALARM_LEVEL"):
        load_settings({"FIELDWATCH_SILENCE_ALARM_LEVEL": "purple"})
