"""Rule semantics as tables: exact boundaries, delays over irregular timestamps, escalation order, clear."""

from __future__ import annotations

import numpy as np
import pytest

from edge.detect import DetectorBank
from protocols.quality import Quality
from protocols.rules import AnomalyRule, FaultRule, FlatlineRule, LevelRule, Levels, RateRule
from protocols.site import CombinedRule, Condition
from tests.edge.detect.helpers import block, channel, level, run, transitions

S = 1000  # ms per second
COMM = int(Quality.COMM_ERROR)


def levels_after(rule, values, ts_s=None, quality=None, physical_range=None):
    """The level of ``rule`` after each sample."""
    bank = DetectorBank.from_channels([channel("x", rule, physical_range=physical_range)])
    ts = np.arange(len(values)) * 60 * S if ts_s is None else np.asarray(ts_s, dtype=np.int64) * S
    out, current = [], 0
    for i in range(len(values)):
        q = None if quality is None else [quality[i]]
        for e in bank.step(block(0, ts[i : i + 1], [values[i]], q)).events:
            current = e.level
        out.append(current)
    return out


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([9.99, 10.0, 19.99, 20.0], [0, 1, 1, 2]),  # entered at the threshold exactly
        ([20.0, 18.0, 17.99], [2, 2, 1]),  # kept down to threshold - hysteresis (20 - 2), inclusive
        ([45.0, 38.0, 37.99, 28.0, 27.99], [4, 4, 3, 3, 2]),  # straight to red, down one hysteresis at a time
        ([12.0, 8.0, 7.99, 9.0], [1, 1, 0, 0]),  # cleared below 10 - 2; 9 is not enough to raise again
        ([45.0, 5.0], [4, 0]),  # red to clear in one event
    ],
)
def test_level_above_with_hysteresis(values, expected) -> None:
    assert levels_after(level(hysteresis=2.0), values) == expected


def test_level_below_with_hysteresis() -> None:
    rule = LevelRule(type="level", direction="below", levels=Levels(blue=-10, red=-40), hysteresis=1)
    assert levels_after(rule, [-9.99, -10, -9.0, -8.99, -40, -39, -38.99]) == [0, 1, 1, 0, 4, 4, 1]


def test_on_and_off_delays_over_irregular_timestamps() -> None:
    rule = level(on_delay_s=30, off_delay_s=60)
    ts_s = [0, 10, 25, 29.999, 30, 100, 130, 159.999, 160]
    values = [15, 15, 15, 15, 15, 5, 5, 5, 5]
    assert levels_after(rule, values, ts_s) == [0, 0, 0, 0, 1, 1, 1, 1, 0]


def test_a_dip_restarts_the_on_delay_and_a_gap_does_not() -> None:
    rule = level(on_delay_s=30)
    ts_s = [0, 20, 25, 40, 69, 70, 71]
    values = [15, 5, 15, 15, 15, 15, 15]
    quality = [
        0,
        0,
        0,
        COMM,
        0,
        0,
        0,
    ]  # the unusable sample at 40 s neither confirms nor breaks the condition
    # pending since 25 s (the dip at 20 s restarted it): 69 s is the first sample 30 s later
    assert levels_after(rule, values, ts_s, quality) == [0, 0, 0, 0, 1, 1, 1]


def test_escalation_order_and_events() -> None:
    bank = DetectorBank.from_channels([channel("x", level(hysteresis=1.0))])
    events = run(bank, block(0, np.arange(6) * 60 * S, [11, 25, 45, 35, 15, 0]))
    assert transitions(events) == [
        (0, "level", 0, 1), (60 * S, "level", 1, 2), (120 * S, "level", 2, 4),
        (180 * S, "level", 4, 3), (240 * S, "level", 3, 1), (300 * S, "level", 1, 0),
    ]  # fmt: skip
    assert [e.kind.name for e in events] == [
        "RAISED",
        "ESCALATED",
        "ESCALATED",
        "DEESCALATED",
        "DEESCALATED",
        "CLEARED",
    ]
    assert events[2].value == 45.0 and "red" in events[2].message and events[2].channel == "gw/dev/x"


def test_rate_over_its_window_and_across_a_gap() -> None:
    rule = RateRule(type="rate", window_s=600, per="h", levels=Levels(blue=50, red=500))
    # 1 mm a minute is 60 mm/h: known once the samples span half the window (300 s)
    ts_s = list(range(0, 301, 60))
    values = [float(i) for i in range(len(ts_s))]
    assert levels_after(rule, values, ts_s) == [0, 0, 0, 0, 0, 1]
    # after a two-hour gap a 3 mm jump in 10 s is noise, not 1080 mm/h: the window holds too little time
    bank = DetectorBank.from_channels([channel("x", rule)])
    assert run(bank, block(0, [0, 7200 * S, 7210 * S], [0.0, 0.0, 3.0])) == []
    # with 300 s of data the rate is measured over the data there is
    events = run(bank, block(0, [7500 * S], [3.0 + 300 / 3600 * 600]))
    assert transitions(events) == [(7500 * S, "rate", 0, 4)]


def test_rate_falling_and_either() -> None:
    falling = RateRule(type="rate", window_s=120, per="min", direction="falling", levels=Levels(blue=1))
    either = RateRule(type="rate", window_s=120, per="min", direction="either", levels=Levels(blue=1))
    values = [10, 10, 8, 6, 6, 6, 8, 10]
    ts_s = [0, 30, 60, 90, 120, 150, 180, 210]
    assert levels_after(falling, values, ts_s) == [0, 0, 1, 1, 1, 1, 0, 0]
    # at 180 s the window (60..180 s) starts and ends at 8: no net change; at 210 s it rose 4 in 120 s
    assert levels_after(either, values, ts_s) == [0, 0, 1, 1, 1, 1, 0, 1]


def test_flatline() -> None:
    rule = FlatlineRule(type="flatline", window_s=900, tolerance=0.01, level="yellow")
    values = [5.0] * 15 + [5.01, 5.0, 5.03, 5.03]
    expected = [0] * 15 + [2, 2, 0, 0]  # 900 s at the 16th sample; 5.03 breaks the run and restarts it
    assert levels_after(rule, values) == expected


def test_fault_bad_quality_out_of_range_and_recovery() -> None:
    rule = FaultRule(type="fault", after_s=120, level="orange")
    oor = int(Quality.OUT_OF_RANGE)
    quality = [COMM, COMM, COMM, 0, oor, 0, oor, oor, oor]
    values = [np.nan, np.nan, np.nan, 1.0, 500.0, 1.0, 1.0, 1.0, 1.0]
    assert levels_after(rule, values, quality=quality) == [0, 0, 3, 0, 0, 0, 0, 0, 3]
    # outside the channel's physical range counts too, flag or not
    assert levels_after(rule, [1.0, 150.0, 150.0, 150.0, 1.0], physical_range=(0, 100)) == [0, 0, 0, 3, 0]


def test_not_available_is_missing_not_a_fault() -> None:
    """A device warming up (its sentinel: NOT_AVAILABLE) raises no fault rule, and does not clear one."""
    rule = FaultRule(type="fault", after_s=120, level="orange")
    na, sf = int(Quality.NOT_AVAILABLE), int(Quality.SENSOR_FAULT)
    warming = [na] * 6 + [0]
    assert levels_after(rule, [np.nan] * 6 + [1.0], quality=warming) == [0] * 7
    # the same readings as a sensor fault raise it after 120 s
    assert levels_after(rule, [np.nan] * 6 + [1.0], quality=[sf] * 6 + [0]) == [0, 0, 3, 3, 3, 3, 0]
    # a fault under way is neither cleared nor restarted by "not available" in between
    quality = [COMM, na, na, COMM, 0]
    assert levels_after(rule, [np.nan] * 4 + [1.0], quality=quality) == [0, 0, 0, 3, 0]


def test_not_available_readings_score_zero_and_feed_no_rule() -> None:
    bank = DetectorBank.from_channels([channel("x", level())])
    na = int(Quality.NOT_AVAILABLE)
    result = bank.step(block(0, np.arange(4) * 60 * S, [15.0, np.nan, np.nan, 15.0], [0, na, na, 0]))
    assert result.scores[1:3].tolist() == [0.0, 0.0]
    assert [e.level for e in result.events] == [1]
    assert bank.statistics()["samples"] == 2


def test_anomaly_rule_follows_the_score() -> None:
    rule = AnomalyRule(type="anomaly", levels=Levels(blue=0.1, yellow=0.3))
    bank = DetectorBank.from_channels([channel("x", rule)])
    rng = np.random.default_rng(3)
    values = np.sin(np.arange(3000) / 20.0) + rng.normal(0, 0.05, 3000)
    values[2500] = 6.0
    result = bank.step(block(0, np.arange(3000) * 60 * S, values))
    expected, current = [], 0
    for i, score in enumerate(result.scores):
        target = 2 if score >= 0.3 else 1 if score >= 0.1 else 0
        if target != current:
            expected.append((i * 60 * S, "anomaly", current, target))
            current = target
    assert transitions(result.events) == expected
    assert (2500 * 60 * S, "anomaly", 0, 2) in expected


def test_combined_rule_joins_two_channels() -> None:
    disp = channel("disp", level(levels=Levels(blue=10)), device="gnss")
    rain = channel("rain", level(name="rain", levels=Levels(yellow=5)), device="gauge")
    joint = CombinedRule(
        name="wet-creep", level="orange", message="creep while raining",
        all_of=(Condition(channel="gnss/disp", rule="level"), Condition(channel="gauge/rain", rule="rain")),
    )  # fmt: skip
    bank = DetectorBank.from_channels([disp, rain], [joint])
    events = run(bank, block([0, 1, 0, 1], [0, 1 * S, 2 * S, 3 * S], [12, 6, 12, 1]))
    assert transitions(events) == [
        (0, "level", 0, 1), (1 * S, "rain", 0, 2), (1 * S, "wet-creep", 0, 3),
        (3 * S, "rain", 2, 0), (3 * S, "wet-creep", 3, 0),
    ]  # fmt: skip
    assert events[2].channel == "gw/_site/_combined"


def test_combined_rule_naming_a_missing_rule_is_refused() -> None:
    joint = CombinedRule(
        name="j",
        level="red",
        all_of=(Condition(channel="dev/x", rule="nope"), Condition(channel="dev/x", rule="level")),
    )
    with pytest.raises(ValueError, match="no rule 'nope' on dev/x"):
        DetectorBank.from_channels([channel("x", level())], [joint])
