"""Deterministic noise: same inputs, same number; independent streams; the right distribution."""

from __future__ import annotations

import math
import statistics

import pytest

from simulator.noise import Noise, gaussian, mix64, stream_id, uniform


def test_same_seed_name_and_instant_give_the_same_value_in_any_order() -> None:
    a = Noise(7, "gw/dev/point", 0.5)
    b = Noise(7, "gw/dev/point", 0.5)
    times = [0.0, 12.3, 12.9, 3600.0, -5.0]
    forward = [a.at(t) for t in times]
    backward = [b.at(t) for t in reversed(times)][::-1]
    assert forward == backward
    assert a.at(12.3) == a.at(12.9)  # one tick of 1 s holds its value


def test_seeds_and_names_give_different_streams() -> None:
    base = [Noise(1, "x", 1.0).at(t) for t in range(50)]
    assert base != [Noise(2, "x", 1.0).at(t) for t in range(50)]
    assert base != [Noise(1, "y", 1.0).at(t) for t in range(50)]


def test_gaussian_has_zero_mean_and_unit_deviation() -> None:
    stream = stream_id(3, "check")
    xs = [gaussian(stream, k) for k in range(20_000)]
    assert abs(statistics.fmean(xs)) < 0.03
    assert statistics.pstdev(xs) == pytest.approx(1.0, abs=0.03)
    assert all(math.isfinite(x) for x in xs)


def test_uniform_lies_in_the_unit_interval_and_fills_it() -> None:
    stream = stream_id(5, "u")
    us = [uniform(stream, k) for k in range(10_000)]
    assert min(us) >= 0.0
    assert max(us) < 1.0
    deciles = [sum(1 for u in us if i / 10 <= u < (i + 1) / 10) for i in range(10)]
    assert all(900 < n < 1100 for n in deciles)


def test_mix64_is_a_bijection_on_a_sample() -> None:
    outs = {mix64(i) for i in range(10_000)}
    assert len(outs) == 10_000


def test_zero_sigma_is_silent_and_bad_arguments_are_refused() -> None:
    assert Noise(1, "x", 0.0).at(123.4) == 0.0
    with pytest.raises(ValueError, match="sigma"):
        Noise(1, "x", -1.0)
    with pytest.raises(ValueError, match="period_s"):
        Noise(1, "x", 1.0, period_s=0)
