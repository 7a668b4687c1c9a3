"""Alarms in both stores: edge events drive the lifecycle, operators close the loop, silence is an alarm."""

from __future__ import annotations

import pytest

from central.alarms import TransitionRefusedError
from central.store.base import NotFoundError, Store
from central.store.records import AlarmFilter
from protocols.records import Forecast
from protocols.wire import ChannelMeta
from tests.central.builders import SITE, T0, event, events_batch, key, readings_batch


def kinds(store: Store, alarm_id: int) -> list[str]:
    return [e.kind for e in store.alarm(alarm_id).timeline]


def test_a_whole_alarm_life_with_who_and_when(store: Store) -> None:
    # edge events happen at T0 + seq seconds; the officers act in between
    store.ingest(events_batch("gw-1", [event("gw-1", 1, 2, 0)]), T0 + 1100)
    store.ingest(events_batch("gw-1", [event("gw-1", 2, 3, 2)], 2), T0 + 2100)
    acked = store.acknowledge(1, "alice", "crew withdrawn", T0 + 2500)
    assert (acked.status, acked.acknowledged_by, acked.acknowledged_ms) == (
        "acknowledged",
        "alice",
        T0 + 2500,
    )
    store.ingest(events_batch("gw-1", [event("gw-1", 3, 1, 3)], 3), T0 + 3100)
    store.ingest(events_batch("gw-1", [event("gw-1", 4, 0, 1)], 4), T0 + 4100)
    closed = store.close_alarm(1, "bob", "drained and re-surveyed", T0 + 6000)
    assert (closed.status, closed.level, closed.max_level) == ("closed", 1, 3)
    assert (closed.closed_by, closed.handling, closed.cleared_ms) == (
        "bob",
        "drained and re-surveyed",
        T0 + 4000,
    )
    detail = store.alarm(1)
    assert [(e.kind, e.level, e.actor, e.ts_ms) for e in detail.timeline] == [
        ("raised", 2, "gateway gw-1", T0 + 1000),
        ("escalated", 3, "gateway gw-1", T0 + 2000),
        ("acknowledged", 3, "alice", T0 + 2500),
        ("deescalated", 1, "gateway gw-1", T0 + 3000),
        ("cleared", 0, "gateway gw-1", T0 + 4000),
        ("closed", 1, "bob", T0 + 6000),
    ]
    assert [e.recorded_ms for e in detail.timeline] == [
        T0 + 1100,
        T0 + 2100,
        T0 + 2500,
        T0 + 3100,
        T0 + 4100,
        T0 + 6000,
    ]
    notes = {e.kind: e.note for e in detail.timeline}
    assert (notes["acknowledged"], notes["closed"]) == ("crew withdrawn", "drained and re-surveyed")
    assert [e.event_seq for e in detail.timeline] == [1, 2, None, 3, 4, None]


def test_timeline_is_in_the_order_the_central_recorded_it(store: Store) -> None:
    store.ingest(events_batch("gw-1", [event("gw-1", 1, 2, 0)]), T0)
    store.acknowledge(1, "alice", "", T0 + 60_000)
    store.ingest(events_batch("gw-1", [event("gw-1", 2, 0, 2)], 2), T0 + 90_000)
    timeline = store.alarm(1).timeline
    assert [e.kind for e in timeline] == ["raised", "acknowledged", "cleared"]
    assert [e.ts_ms for e in timeline] == [T0 + 1000, T0 + 60_000, T0 + 2000]  # the edge's time beside


def test_one_active_alarm_per_channel_and_rule(store: Store) -> None:
    store.ingest(
        events_batch(
            "gw-1", [event("gw-1", 1, 2, 0), event("gw-1", 2, 2, 0, rule="slope"), event("gw-1", 3, 3, 2)]
        ),
        T0,
    )
    page = store.alarms(AlarmFilter())
    assert sorted((a.rule, a.level) for a in page.data) == [("level", 3), ("slope", 2)]


def test_escalation_reopens_an_acknowledged_alarm(store: Store) -> None:
    store.ingest(events_batch("gw-1", [event("gw-1", 1, 1, 0)]), T0)
    store.acknowledge(1, "alice", "watching", T0)
    store.ingest(events_batch("gw-1", [event("gw-1", 2, 4, 1)], 2), T0)
    alarm = store.alarm(1).alarm
    assert (alarm.status, alarm.level, alarm.acknowledged_by) == ("open", 4, None)
    store.acknowledge(1, "bob", "evacuating", T0)  # must be acknowledged again


def test_a_raise_after_close_opens_a_new_alarm(store: Store) -> None:
    store.ingest(events_batch("gw-1", [event("gw-1", 1, 2, 0), event("gw-1", 2, 0, 2)]), T0)
    store.close_alarm(1, "alice", "false alarm: survey crew bumped the prism", T0)
    store.ingest(events_batch("gw-1", [event("gw-1", 3, 2, 0)], 2), T0)
    assert [(a.id, a.status) for a in store.alarms(AlarmFilter()).data] == [(2, "open"), (1, "closed")]


def test_a_cleared_alarm_raised_again_before_close_is_reopened(store: Store) -> None:
    store.ingest(
        events_batch("gw-1", [event("gw-1", 1, 2, 0), event("gw-1", 2, 0, 2), event("gw-1", 3, 3, 0)]), T0
    )
    assert kinds(store, 1) == ["raised", "cleared", "reraised"]
    assert store.alarm(1).alarm.status == "open"
    assert store.alarms(AlarmFilter()).count == 1


def test_events_applied_in_seq_order_and_late_ones_only_recorded(store: Store) -> None:
    # the clear (seq 5) arrives before the raise (seq 4): the raise is late and changes nothing
    store.ingest(events_batch("gw-1", [event("gw-1", 5, 0, 2)]), T0)
    store.ingest(events_batch("gw-1", [event("gw-1", 4, 2, 0)], 2), T0)
    detail = store.alarm(1)
    assert detail.alarm.status == "cleared"
    assert [e.kind for e in detail.timeline] == ["cleared", "late"]  # as the central recorded them
    assert detail.timeline[1].note.startswith("late raised (0 -> 2)")
    # within one batch the order of the list does not matter, only the seqs
    store.ingest(events_batch("gw-2", [event("gw-2", 9, 0, 3), event("gw-2", 8, 3, 0)]), T0)
    assert store.alarms(AlarmFilter(gateway_id="gw-2")).data[0].status == "cleared"


def test_forecast_is_kept_on_the_alarm_and_its_timeline(store: Store) -> None:
    forecast = Forecast(T0 + 3_600_000, 0.93, 40)
    store.ingest(events_batch("gw-1", [event("gw-1", 1, 3, 0, rule="slope", forecast=forecast)]), T0)
    detail = store.alarm(1)
    assert detail.alarm.forecast is not None
    assert (detail.alarm.forecast.failure_ts_ms, detail.alarm.forecast.r2, detail.alarm.forecast.points) == (
        T0 + 3_600_000, 0.93, 40,
    )  # fmt: skip
    assert detail.timeline[0].forecast == detail.alarm.forecast


def test_operator_actions_refused_in_the_wrong_status(store: Store) -> None:
    store.ingest(events_batch("gw-1", [event("gw-1", 1, 2, 0)]), T0)
    store.acknowledge(1, "alice", "", T0)
    with pytest.raises(TransitionRefusedError):
        store.acknowledge(1, "bob", "", T0)
    store.close_alarm(1, "alice", "done", T0, force=True)
    with pytest.raises(TransitionRefusedError):
        store.close_alarm(1, "bob", "done again", T0, force=True)
    with pytest.raises(NotFoundError):
        store.acknowledge(99, "alice", "", T0)
    with pytest.raises(NotFoundError):
        store.alarm(99)


def test_alarm_filters_and_paging(store: Store) -> None:
    store.ingest(readings_batch("gw-1", [100], site=SITE), T0)
    evs = [event("gw-1", s, 1 + s % 4, 0, rule=f"r{s}") for s in range(1, 13)]
    store.ingest(events_batch("gw-1", evs, 2), T0)
    store.ingest(events_batch("gw-2", [event("gw-2", 1, 4, 0)]), T0)
    store.acknowledge(1, "alice", "", T0)
    assert store.alarms(AlarmFilter()).count == 13
    assert store.alarms(AlarmFilter(site_id=SITE.id)).count == 12
    assert store.alarms(AlarmFilter(gateway_id="gw-2")).count == 1
    assert store.alarms(AlarmFilter(statuses=("acknowledged",))).count == 1
    assert store.alarms(AlarmFilter(statuses=("open", "acknowledged"))).count == 13
    assert {a.level for a in store.alarms(AlarmFilter(min_level=4)).data} == {4}
    assert store.alarms(AlarmFilter(since_ms=T0 + 6000, until_ms=T0 + 9000)).count == 3  # seqs 6, 7, 8
    pages = [store.alarms(AlarmFilter(limit=5, offset=o)) for o in (0, 5, 10)]
    ids = [a.id for p in pages for a in p.data]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 13
    assert all(p.count == 13 for p in pages)


def test_site_worst_level_counts_only_warnings_in_force(store: Store) -> None:
    store.ingest(readings_batch("gw-1", [100], site=SITE), T0)
    store.ingest(events_batch("gw-1", [event("gw-1", 1, 3, 0), event("gw-1", 2, 2, 0, rule="slope")], 2), T0)
    assert [(s.id, s.worst_level, s.open_alarms, s.gateways) for s in store.sites()] == [
        (SITE.id, 3, 2, ["gw-1"])
    ]
    store.ingest(events_batch("gw-1", [event("gw-1", 3, 0, 3)], 3), T0)  # cleared: no longer in force
    assert [(s.worst_level, s.open_alarms) for s in store.sites()] == [(2, 1)]


def test_silence_raises_then_clears_the_gateway_alarm(store: Store) -> None:
    store.ingest(readings_batch("gw-1", [1], heartbeat={"heartbeat_interval_s": 10}), T0)
    assert store.check_silence(T0 + 30_000, 3.0, 60.0, 3) == ([], [])  # 30 s is not more than 3 x 10 s
    alarms, changes = store.check_silence(T0 + 31_000, 3.0, 60.0, 3)
    assert [(a.channel, a.rule, a.level, a.status) for a in alarms] == [
        ("gw-1/_gateway/_silent", "gateway_silent", 3, "open")
    ]
    assert [(c.gateway_id, c.status) for c in changes] == [("gw-1", "silent")]
    assert store.gateway("gw-1").status == "silent"  # type: ignore[union-attr]
    assert store.check_silence(T0 + 99_000, 3.0, 60.0, 3) == ([], [])  # raised once only
    outcome = store.ingest(readings_batch("gw-1", [2], batch_id=2), T0 + 100_000)
    assert [(c.gateway_id, c.status) for c in outcome.gateway_changes] == [("gw-1", "online")]
    assert [(a.rule, a.status) for a in outcome.alarm_changes] == [("gateway_silent", "cleared")]
    assert [(e.kind, e.actor) for e in store.alarm(alarms[0].id).timeline] == [
        ("raised", "central"),
        ("cleared", "central"),
    ]


def test_silence_uses_the_default_interval_without_a_heartbeat(store: Store) -> None:
    store.ingest(readings_batch("gw-1", [1]), T0)
    assert store.check_silence(T0 + 180_000, 3.0, 60.0, 2) == ([], [])
    alarms, _ = store.check_silence(T0 + 180_001, 3.0, 60.0, 2)
    assert [a.level for a in alarms] == [2]


def test_silence_alarm_raised_again_after_a_second_silence(store: Store) -> None:
    store.ingest(readings_batch("gw-1", [1]), T0)
    first, _ = store.check_silence(T0 + 200_000, 3.0, 60.0, 3)
    store.ingest(readings_batch("gw-1", [2], batch_id=2), T0 + 210_000)
    again, _ = store.check_silence(T0 + 400_000, 3.0, 60.0, 3)
    assert [a.id for a in again] == [first[0].id]  # cleared but not closed: the same alarm, reopened
    assert kinds(store, first[0].id) == ["raised", "cleared", "reraised"]


def test_device_locations_carry_their_worst_level(store: Store) -> None:
    meta = [ChannelMeta(key("gw-1", "dev-1", "p0"), "mm", "p", 30.51, 110.31)]
    store.ingest(readings_batch("gw-1", [1], channels=meta, site=SITE, events=[event("gw-1", 2, 2, 0)]), T0)
    locations = store.device_locations()
    assert [(d.gateway_id, d.device, d.site_id, d.latitude_deg, d.worst_level) for d in locations] == [
        ("gw-1", "dev-1", SITE.id, 30.51, 2)
    ]


def test_counts_for_metrics(store: Store) -> None:
    store.ingest(events_batch("gw-1", [event("gw-1", 1, 2, 0), event("gw-1", 2, 3, 0, rule="slope")]), T0)
    store.acknowledge(2, "alice", "", T0)
    counts = store.counts()
    assert counts["alarms"] == {("open", 2): 1, ("acknowledged", 3): 1}
    assert counts["gateways"] == {"online": 1}
    assert counts["channels"] == 1
