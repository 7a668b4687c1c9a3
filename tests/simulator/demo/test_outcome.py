"""Expected alarms against alarm timelines: levels reached in order, forecasts settling, quiet neighbours."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from simulator import scenario as scenarios
from simulator.demo.outcome import Forecasts, check, quiet_breaches, reached_levels
from simulator.demo.timebase import TimeBase
from simulator.spec import Expectation

GW = "qs-dongshan-gw01"


def timeline_entry(
    ts_ms: int, kind: str, level: int, seq: int, forecast_ms: int | None = None
) -> dict[str, Any]:
    forecast = None if forecast_ms is None else {"failure_ts_ms": forecast_ms, "r2": 0.9, "points": 40}
    return {"ts_ms": ts_ms, "kind": kind, "level": level, "event_seq": seq, "forecast": forecast}


def test_reached_levels_is_the_increasing_run() -> None:
    assert reached_levels([1, 0, 1, 2, 1, 3, 4, 0]) == [1, 2, 3, 4]
    assert reached_levels([3, 4]) == [3, 4]
    assert reached_levels([]) == []


def test_a_slope_alarm_that_escalates_in_order_with_settling_forecasts_is_met() -> None:
    loaded = scenarios.load("mine_slope")
    tb = TimeBase(speed=120.0, origin_ms=1_000_000, go_wall_ms=1_000_000)
    at = lambda h: tb.edge_ms_of_story(h * 3600)  # noqa: E731
    slope = {"alarm": {"channel": f"{GW}/gnss-e2-crest/horizontal_mm", "rule": "slope"}, "timeline": [
        timeline_entry(at(2.3), "raised", 1, 10),
        timeline_entry(at(2.4), "cleared", 0, 11),
        timeline_entry(at(2.5), "reraised", 1, 12),
        timeline_entry(at(3.0), "escalated", 2, 13),
        timeline_entry(at(3.3), "escalated", 3, 14, forecast_ms=at(3.46)),
        timeline_entry(at(3.45), "escalated", 4, 15, forecast_ms=at(3.48)),
    ]}  # fmt: skip
    outcomes = {o.expectation.rule: o for o in check(loaded.scenario, GW, {1: slope}, tb)}
    assert outcomes["slope"].reached == [1, 2, 3, 4]
    assert outcomes["slope"].met
    assert outcomes["slope"].first_story_s == 2.3 * 3600
    assert not outcomes["intensity"].met  # no rain alarm in these timelines
    assert "forecast failure at 3.48 h (true 3.50 h)" in outcomes["slope"].text()


def test_forecasts_must_settle_near_the_truth() -> None:
    truth = 3.5 * 3600
    assert Forecasts(truth, [(11000, truth - 200), (12000, truth + 300)]).converged
    assert not Forecasts(truth, [(12000, truth - 200)]).converged  # one forecast is not a trend
    assert not Forecasts(truth, [(11000, truth), (12000, truth - 1500)]).converged
    assert not Forecasts(truth, [(11000, truth), (13000, truth)]).converged  # made after the failure
    assert Forecasts(truth, [(9000, truth), (11000, truth + 100), (12000, truth - 100), (13000, 0)]).converged


def test_alarms_on_quiet_devices_other_than_comm_and_fault_are_breaches() -> None:
    loaded = scenarios.load("forest_tower")
    gw = loaded.bound.gateway_id
    alarms = [
        {"channel": f"{gw}/ws-valley/_device", "rule": "comm"},
        {"channel": f"{gw}/ws-valley/humidity", "rule": "dry"},
        {"channel": f"{gw}/weather-mast/humidity", "rule": "dry"},
    ]
    assert quiet_breaches(loaded.scenario, gw, alarms) == [f"{gw}/ws-valley/humidity dry"]


def test_a_run_cut_short_is_judged_on_what_was_due_by_then() -> None:
    """`--duration-s 60` ends the stories at about 2 h: levels due later are not judged, not missed."""
    loaded = scenarios.load("tank_farm")
    gw = loaded.bound.gateway_id
    tb = TimeBase(speed=120.0, origin_ms=1_000_000, go_wall_ms=1_000_000)
    at = lambda h: tb.edge_ms_of_story(h * 3600)  # noqa: E731
    leak = {"alarm": {"channel": f"{gw}/level-t102/level", "rule": "standing_loss"}, "timeline": [
        timeline_entry(at(1.8), "raised", 2, 10), timeline_entry(at(1.91), "escalated", 3, 11),
    ]}  # fmt: skip
    outcomes = {
        o.expectation.rule: o for o in check(loaded.scenario, gw, {1: leak}, tb, ran_to_s=2.05 * 3600)
    }
    standing = outcomes["standing_loss"]
    assert (standing.due, standing.met) == (1, True)  # yellow due by 2h came; orange due by 2h10m: not yet
    assert standing.as_dict()["not_due"] == ["orange"]
    gas = outcomes["alarm"]
    assert (gas.due, gas.met, gas.as_dict()["due"]) == (0, True, [])  # nothing due: not judged
    late = {o.expectation.rule: o for o in check(loaded.scenario, gw, {}, tb, ran_to_s=2.05 * 3600)}
    assert not late["standing_loss"].met  # yellow was due and never came
    whole = {o.expectation.rule: o for o in check(loaded.scenario, gw, {1: leak}, tb)}
    assert whole["alarm"].due == 2 and not whole["alarm"].met  # the whole story ran: everything is due


@pytest.mark.parametrize("due", [(60,), (120, 60)])
def test_due_times_come_one_per_level_in_order(due: tuple[float, ...]) -> None:
    assert Expectation(channel="a/b", rule="r", levels=("blue", "red"), due=(60, 120)).due == (60, 120)
    with pytest.raises(ValidationError, match="due"):
        Expectation(channel="a/b", rule="r", levels=("blue", "red"), due=due)
