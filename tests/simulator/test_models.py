"""Physical models: closed forms checked against their definitions (derivatives, sums, symmetry)."""

from __future__ import annotations

import math

import pytest

from simulator.models import (
    DeviceModel,
    creep_mm,
    creep_velocity_mm_h,
    daily,
    integral_value,
    path_value,
)
from simulator.spec import Creep, PointSpec


def spec(**kw: object) -> PointSpec:
    return PointSpec.model_validate(kw)


def test_daily_cycle_peaks_at_its_time_and_bottoms_twelve_hours_later() -> None:
    peak = 14 * 3600.0
    assert daily(20, 5, peak, peak) == pytest.approx(25)
    assert daily(20, 5, peak, peak + 12 * 3600) == pytest.approx(15)
    assert daily(20, 5, peak, peak + 6 * 3600) == pytest.approx(20)


@pytest.mark.parametrize(
    ("t", "linear", "held"),
    [(-10, 1.0, 1.0), (0, 1.0, 1.0), (50, 2.0, 1.0), (100, 3.0, 3.0), (150, 2.0, 3.0), (500, 1.0, 1.0)],
)
def test_path_interpolates_or_holds_and_is_flat_outside(t: float, linear: float, held: float) -> None:
    knots = ((0.0, 1.0), (100.0, 3.0), (200.0, 1.0))
    assert path_value(knots, t, hold=False) == pytest.approx(linear)
    assert path_value(knots, t, hold=True) == pytest.approx(held)


def test_integral_matches_a_fine_sum_of_its_rate() -> None:
    knots = ((0.0, 0.0), (600.0, 1.2), (4200.0, -0.5), (7200.0, 0.0))
    rate = lambda t: next((r for s, r in reversed(knots) if t >= s), 0.0)  # noqa: E731
    step = 1.0
    total = 10.0
    for i in range(9000):
        t = i * step
        assert integral_value(knots, 10.0, t) == pytest.approx(total, abs=1e-9)
        total += rate(t + step / 2) * step / 3600
    assert integral_value(knots, 10.0, -100.0) == 10.0


CREEP = Creep(velocity_mm_h=1.5, failure_at=3.5 * 3600, a_mm=15, max_velocity_mm_h=2000)


def test_creep_velocity_is_the_derivative_of_displacement() -> None:
    for t_s in (600.0, 3600.0, 9000.0, 12_000.0, 12_590.0, 13_000.0):
        h = 0.5
        numeric = (creep_mm(CREEP, t_s + h) - creep_mm(CREEP, t_s - h)) / (2 * h) * 3600
        assert numeric == pytest.approx(creep_velocity_mm_h(CREEP, t_s), rel=1e-3)


def test_inverse_velocity_falls_linearly_to_the_failure_time() -> None:
    tf_h = CREEP.failure_at / 3600
    for t_h in (1.0, 2.0, 3.0, 3.4):
        assert 1 / creep_velocity_mm_h(CREEP, t_h * 3600) == pytest.approx((tf_h - t_h) / CREEP.a_mm)


def test_creep_is_steady_before_the_tertiary_phase_and_slides_after_failure() -> None:
    slow = Creep(velocity_mm_h=2.0, failure_at=20 * 3600, a_mm=10, max_velocity_mm_h=100)
    assert creep_mm(slow, 3 * 3600) == pytest.approx(6.0)  # 1/v crosses 2 mm/h at 15 h
    assert creep_velocity_mm_h(slow, 19.99 * 3600) == 100
    assert creep_mm(slow, 21 * 3600) - creep_mm(slow, 20.5 * 3600) == pytest.approx(50.0)
    assert creep_mm(slow, -3600) == pytest.approx(-2.0)  # before the story: the same steady creep


def test_device_model_derives_points_and_adds_noise_and_clamp() -> None:
    specs = {
        "level": spec(integral=[[0, 0], [60, 3.6]], initial=5.0),
        "distance": spec(of="level", scale=-1, offset=18, noise=0.01),
        "north": spec(constant=3.0),
        "east": spec(constant=4.0),
        "horizontal": spec(norm=["north", "east"]),
        "rain_1h": spec(change_over={"of": "level", "span": "1h"}),
        "today": spec(since_midnight="level"),
        "gas": spec(path=[[0, -5], [100, 50]], clamp=[0, 20]),
        "sum": spec(constant=1.0, plus=[{"constant": 2.0}, {"path": [[0, 0], [10, 10]]}]),
    }
    m = DeviceModel(specs, seed=1, device_id="d", starts_at_s=23 * 3600.0)
    assert m.value("level", 60 + 3600) == pytest.approx(8.6)
    assert m.value("distance", 3660) == pytest.approx(18 - 8.6, abs=0.05)
    assert m.value("distance", 3660) != pytest.approx(18 - 8.6, abs=1e-9)  # noisy
    assert m.value("horizontal", 0) == pytest.approx(5.0)
    assert m.value("rain_1h", 60 + 3600) == pytest.approx(3.6)
    assert m.value("today", 3600 + 600) == pytest.approx(0.6)  # midnight was at t = 3600
    assert m.value("gas", 0) == 0.0
    assert m.value("gas", 100) == 20.0
    assert m.value("sum", 5) == pytest.approx(8.0)
    assert m.value("distance", 3660) == DeviceModel(specs, seed=1, device_id="d").value("distance", 3660)


def test_device_model_refuses_unknown_references_and_cycles() -> None:
    with pytest.raises(ValueError, match="refers to nope"):
        DeviceModel({"a": spec(of="nope")}, seed=1, device_id="d")
    with pytest.raises(ValueError, match="refer to each other"):
        DeviceModel({"a": spec(of="b"), "b": spec(of="a")}, seed=1, device_id="d")


def test_text_points_have_their_text() -> None:
    m = DeviceModel({"serial": spec(text="SN-1")}, seed=1, device_id="d")
    assert m.is_text("serial")
    assert m.text("serial") == "SN-1"
    assert math.isfinite(m.value("serial", 0))
