"""Slope forecasting against an analytic accelerating-creep curve with a known failure time.

Fukuzono / Voight: 1/v falls linearly to zero at t_f. With 1/v = A (t_f - t), the displacement is
s(t) = (1/A) ln(t_f / (t_f - t)).
"""

from __future__ import annotations

import math

import numpy as np

from edge.detect import DetectorBank
from edge.detect.rulekernel import S_FC_TS
from protocols.rules import Levels, SlopeRule
from tests.edge.detect.helpers import block, channel

DAY_MS = 86_400_000
T_FAIL_D = 10.0
A_D_PER_MM_PER_D = 0.1  # 1/v = 0.1 (t_f - t): v = 1 mm/d at t = 0, 10 mm/d one day before failure


def displacement_mm(t_d: np.ndarray) -> np.ndarray:
    return np.log(T_FAIL_D / (T_FAIL_D - t_d)) / A_D_PER_MM_PER_D


def creep_times_d(rng: np.random.Generator, until_d: float) -> np.ndarray:
    """Every 10 min with jitter, and a 6-hour gap on day 5."""
    t = np.arange(0.0, until_d, 10 / 1440) + rng.uniform(0, 3 / 1440, math.ceil(until_d * 144))
    return np.sort(t[(t < 5.0) | (t > 5.25)])


def slope_rule(**kw) -> SlopeRule:
    return SlopeRule(
        type="slope", per="d", velocity_window_s=3600, forecast_window_s=86400, forecast_min_r2=0.9, **kw
    )


def test_inverse_velocity_forecast_within_five_percent_of_remaining_time() -> None:
    rng = np.random.default_rng(1)
    rule = slope_rule(velocity_levels=Levels(blue=2, yellow=4, orange=6, red=8))
    bank = DetectorBank.from_channels([channel("horizontal_mm", rule)])
    t_d = creep_times_d(rng, 9.8)
    checked = 0
    for t, s in zip(t_d, displacement_mm(t_d), strict=True):
        bank.step(block(0, [round(t * DAY_MS)], [s]))
        if t < 2.0:  # one forecast window of data, plus one, before the fit is called stable
            continue
        row = bank.rule_state[0]
        assert not math.isnan(row[S_FC_TS]), f"no forecast at day {t:.3f}"
        remaining_d = T_FAIL_D - t
        error_d = abs(row[S_FC_TS] / DAY_MS - T_FAIL_D)
        assert error_d <= 0.05 * remaining_d, (
            f"day {t:.3f}: forecast off by {error_d:.4f} d of {remaining_d:.3f}"
        )
        checked += 1
    assert checked > 1000


def test_slope_events_escalate_and_carry_the_forecast() -> None:
    rng = np.random.default_rng(2)
    rule = slope_rule(velocity_levels=Levels(blue=2.5, yellow=4, orange=6, red=8))
    bank = DetectorBank.from_channels([channel("horizontal_mm", rule)])
    t_d = creep_times_d(rng, 9.5)
    events = bank.step(block(0, np.round(t_d * DAY_MS).astype(np.int64), displacement_mm(t_d))).events
    assert [(e.previous_level, e.level) for e in events] == [(0, 1), (1, 2), (2, 3), (3, 4)]
    # v = 10 / (10 - t) mm/d reaches 2.5, 4, 6, 8 at t = 6, 7.5, 8.33, 8.75 d (an hour's window lags ~30 min)
    for e, t_expected in zip(events, (6.0, 7.5, 25 / 3, 8.75), strict=True):
        assert abs(e.ts_ms / DAY_MS - t_expected) < 0.05, e
    for e in events[1:]:
        assert e.forecast is not None and e.forecast.r2 >= 0.9 and e.forecast.points >= 5
        assert abs(e.forecast.failure_ts_ms / DAY_MS - T_FAIL_D) <= 0.05 * (T_FAIL_D - e.ts_ms / DAY_MS)
        assert "forecast of failure" in e.message


def test_tangent_angle_against_a_given_reference_velocity() -> None:
    # v_ref = 1 mm/d: 80 degrees is v = tan(80) = 5.67 mm/d, reached at t = 10 - 10 / 5.67 = 8.237 d
    rule = slope_rule(tangent_angle_levels=Levels(blue=80), reference_velocity=1.0)
    bank = DetectorBank.from_channels([channel("horizontal_mm", rule)])
    t_d = creep_times_d(np.random.default_rng(3), 9.0)
    (event,) = bank.step(block(0, np.round(t_d * DAY_MS).astype(np.int64), displacement_mm(t_d))).events
    t_expected = T_FAIL_D - T_FAIL_D / math.tan(math.radians(80))
    assert abs(event.ts_ms / DAY_MS - t_expected) < 0.05


def test_reference_velocity_is_learned_when_not_given() -> None:
    # learned over the first 2 days: mean velocity s(2)/2 = 1.116 mm/d, so 80 degrees at 6.33 mm/d (t = 8.42 d)
    rule = slope_rule(tangent_angle_levels=Levels(blue=80), learn_window_s=2 * 86400)
    bank = DetectorBank.from_channels([channel("horizontal_mm", rule)])
    t_d = creep_times_d(np.random.default_rng(4), 9.0)
    (event,) = bank.step(block(0, np.round(t_d * DAY_MS).astype(np.int64), displacement_mm(t_d))).events
    v_ref = float(displacement_mm(np.array([2.0]))[0]) / 2.0
    t_expected = T_FAIL_D - T_FAIL_D / (v_ref * math.tan(math.radians(80)))
    assert abs(event.ts_ms / DAY_MS - t_expected) < 0.05
