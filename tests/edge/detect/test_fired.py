"""Events say what fired: rule kind, criterion, value with unit, threshold, direction; a slope that warns
on its tangent angle names the angle, not a velocity threshold it never reached."""

from __future__ import annotations

import numpy as np

from edge.detect import DetectorBank
from protocols.rules import Levels, SlopeRule
from tests.edge.detect.helpers import block, channel, level
from tests.edge.detect.test_slope import DAY_MS, creep_times_d, displacement_mm


def test_a_level_rule_names_the_threshold_it_crossed_and_the_way() -> None:
    bank = DetectorBank.from_channels([channel("stage_m", level(), unit="m")])
    events = bank.step(block(0, [0, 1000, 2000], [5.0, 25.0, 5.0])).events
    fields = [(e.rule_kind, e.criterion, e.unit, e.threshold, e.direction, e.level) for e in events]
    assert fields == [
        ("level", "level", "m", 20.0, "rising", 2),
        ("level", "level", "m", 20.0, "falling", 0),  # back across the yellow threshold it had crossed
    ]


def test_a_slope_warning_on_its_tangent_angle_says_so() -> None:
    # velocity thresholds far above what the creep reaches; the angle (v_ref 1 mm/d) warns at 80 degrees
    rule = SlopeRule(
        type="slope", per="d", velocity_window_s=3600, velocity_levels=Levels(orange=40.0),
        tangent_angle_levels=Levels(orange=80.0), reference_velocity=1.0,
    )  # fmt: skip
    bank = DetectorBank.from_channels([channel("north_mm", rule)])
    t_d = creep_times_d(np.random.default_rng(3), 9.0)
    events = bank.step(block(0, np.round(t_d * DAY_MS).astype(np.int64), displacement_mm(t_d))).events
    raised = events[0]
    assert (raised.level, raised.criterion, raised.unit, raised.threshold) == (
        3,
        "tangent_angle",
        "deg",
        80.0,
    )
    assert raised.rule_kind == "slope" and raised.direction == "rising"
    assert raised.message.startswith("north_mm: tangent angle 80.")
    assert "(threshold 80)" in raised.message and "threshold 40" not in raised.message
    assert "displacement velocity" in raised.message  # the velocity beside it, for the log


def test_a_slope_warning_on_its_velocity_names_the_velocity() -> None:
    rule = SlopeRule(
        type="slope", per="d", velocity_window_s=3600, velocity_levels=Levels(blue=2.5),
        tangent_angle_levels=Levels(blue=89.0), reference_velocity=1.0,
    )  # fmt: skip
    bank = DetectorBank.from_channels([channel("north_mm", rule)])
    t_d = creep_times_d(np.random.default_rng(2), 7.0)
    raised = bank.step(block(0, np.round(t_d * DAY_MS).astype(np.int64), displacement_mm(t_d))).events[0]
    assert (raised.criterion, raised.unit, raised.threshold) == ("velocity", "mm/d", 2.5)
    assert "displacement velocity" in raised.message and "(threshold 2.5)" in raised.message
