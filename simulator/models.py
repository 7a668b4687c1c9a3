"""Physical models: a device's point values as pure functions of simulated time.

``DeviceModel(specs, seed=..., device_id=..., starts_at_s=...)`` compiles a device's ``PointSpec``s
(``simulator.spec``) once; ``value(point, t_s)`` is then the point's value at ``t_s`` simulated seconds after
the scenario's start, noise included, and the same for the same seed whenever and however often it is
asked. Nothing here keeps state between calls: the simulator may read a device a thousand times a second
or once an hour, in any order, and a restarted simulator continues where the story is.

The kinds (closed forms, no numerical integration):

- daily cycle: ``mean + amplitude * cos(2 pi (time of day - peak) / 1 day)``;
- path: linear interpolation between knots (or steps with ``hold``), flat before the first and after
  the last;
- integral: a piecewise-constant rate per hour, integrated exactly (a tank level under transfers, a rain
  counter under a storm); before t = 0 it is ``initial``;
- creep: steady creep ``v0`` until Fukuzono's tertiary creep ``v = A / (t_f - t)`` overtakes it, then
  ``d = d1 + A ln((t_f - t1) / (t_f - t))``, then a slide at ``max_velocity`` once that is reached: the
  inverse velocity falls linearly to zero, which is what the edge's forecast extrapolates;
- derived: another point (``of``), a vector norm, the change over a trailing window, the change since
  local midnight. Derived values use the other points' noiseless values and add their own noise.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping

from simulator.noise import Noise
from simulator.spec import Creep, PointSpec

DAY_S = 86_400.0
HOUR_S = 3600.0


def daily(mean: float, amplitude: float, peak_at_s: float, time_of_day_s: float) -> float:
    return mean + amplitude * math.cos(2.0 * math.pi * (time_of_day_s - peak_at_s) / DAY_S)


def path_value(knots: tuple[tuple[float, float], ...], t_s: float, *, hold: bool) -> float:
    times = [k[0] for k in knots]
    i = bisect.bisect_right(times, t_s)
    if i == 0:
        return knots[0][1]
    if i == len(knots) or hold:
        return knots[i - 1][1]
    (t0, v0), (t1, v1) = knots[i - 1], knots[i]
    return v0 + (v1 - v0) * (t_s - t0) / (t1 - t0)


def integral_value(knots: tuple[tuple[float, float], ...], initial: float, t_s: float) -> float:
    """``initial`` plus the integral from 0 to ``t_s`` of a rate per hour that is ``knots[i][1]`` from
    ``knots[i][0]`` until the next knot (zero before the first)."""
    total = initial
    for i, (start, rate_per_h) in enumerate(knots):
        end = knots[i + 1][0] if i + 1 < len(knots) else math.inf
        lo, hi = max(0.0, start), min(t_s, end)
        if hi > lo:
            total += rate_per_h * (hi - lo) / HOUR_S
    return total


def creep_mm(c: Creep, t_s: float) -> float:
    """Displacement (mm) at ``t_s`` of the creep ``c`` (see the module docstring)."""
    t = t_s / HOUR_S
    v0, a, tf, vmax = c.velocity_mm_h, c.a_mm, c.failure_at / HOUR_S, c.max_velocity_mm_h
    if t <= 0:
        return v0 * t
    t1 = tf - a / v0  # where 1/v = (tf - t)/A overtakes steady creep
    t2 = tf - a / vmax  # where it reaches the sliding velocity
    d = v0 * max(0.0, min(t, t1))
    lo, hi = max(0.0, t1), min(t, t2)
    if hi > lo:
        d += a * math.log((tf - lo) / (tf - hi))
    if t > max(0.0, t2):
        d += vmax * (t - max(0.0, t2))
    return d


def creep_velocity_mm_h(c: Creep, t_s: float) -> float:
    """The velocity of ``creep_mm`` at ``t_s``: what the edge's slope rule estimates."""
    t = t_s / HOUR_S
    tf = c.failure_at / HOUR_S
    if t >= tf - c.a_mm / c.max_velocity_mm_h:
        return c.max_velocity_mm_h
    return max(c.velocity_mm_h, c.a_mm / (tf - t))


class DeviceModel:
    """Every modelled point of one device (see the module docstring)."""

    def __init__(
        self, specs: Mapping[str, PointSpec], *, seed: int, device_id: str, starts_at_s: float = 0.0
    ) -> None:
        self.specs = dict(specs)
        self.starts_at_s = starts_at_s
        self._noise: dict[int, Noise] = {}
        self._seed = seed
        self._device_id = device_id
        for name, spec in self.specs.items():
            missing = sorted(spec.references() - set(self.specs))
            if missing:
                raise ValueError(f"{device_id}.{name}: refers to {', '.join(missing)}, which has no model")
            for creep in _creeps(spec):
                if creep.max_velocity_mm_h <= creep.velocity_mm_h:
                    raise ValueError(f"{device_id}.{name}: max_velocity_mm_h must exceed velocity_mm_h")
        self._check_cycles()

    def value(self, point: str, t_s: float) -> float:
        """The point's value at ``t_s``: model, noise, clamp."""
        spec = self.specs[point]
        v = self._clean(spec, t_s, point) + self._noise_of(spec, point).at(t_s)
        if spec.clamp is not None:
            v = min(max(v, spec.clamp[0]), spec.clamp[1])
        return v

    def text(self, point: str) -> str:
        return self.specs[point].text or ""

    def is_text(self, point: str) -> bool:
        return self.specs[point].text is not None

    def _noise_of(self, spec: PointSpec, point: str) -> Noise:
        noise = self._noise.get(id(spec))
        if noise is None:
            noise = Noise(self._seed, f"{self._device_id}/{point}", spec.noise, spec.noise_period)
            self._noise[id(spec)] = noise
        return noise

    def _clean(self, spec: PointSpec, t_s: float, name: str) -> float:
        base = self._kind(spec, t_s)
        total = spec.scale * base + spec.offset
        for i, part in enumerate(spec.plus):
            part_name = f"{name}+{i}"
            total += self._clean(part, t_s, part_name) + self._noise_of(part, part_name).at(t_s)
        return total

    def _ref(self, point: str, t_s: float) -> float:
        return self._clean(self.specs[point], t_s, point)

    def _kind(self, s: PointSpec, t_s: float) -> float:
        if s.constant is not None:
            return s.constant
        if s.daily is not None:
            tod = (self.starts_at_s + t_s) % DAY_S
            return daily(s.daily.mean, s.daily.amplitude, s.daily.peak_at, tod)
        if s.path is not None:
            return path_value(s.path, t_s, hold=s.hold)
        if s.integral is not None:
            return integral_value(s.integral, s.initial, t_s)
        if s.creep is not None:
            return creep_mm(s.creep, t_s)
        if s.of is not None:
            return self._ref(s.of, t_s)
        if s.norm is not None:
            return math.sqrt(sum(self._ref(p, t_s) ** 2 for p in s.norm))
        if s.change_over is not None:
            w = s.change_over
            return self._ref(w.of, t_s) - self._ref(w.of, t_s - w.span)
        if s.since_midnight is not None:
            midnight = t_s - (self.starts_at_s + t_s) % DAY_S
            return self._ref(s.since_midnight, t_s) - self._ref(s.since_midnight, midnight)
        return 0.0  # text points have no number

    def _check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(name: str, trail: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                raise ValueError(f"{self._device_id}: points refer to each other: {' -> '.join(trail)}")
            state[name] = 1
            for ref in sorted(self.specs[name].references()):
                visit(ref, [*trail, ref])
            state[name] = 2

        for name in self.specs:
            visit(name, [name])


def _creeps(spec: PointSpec) -> list[Creep]:
    found = [spec.creep] if spec.creep is not None else []
    for part in spec.plus:
        found += _creeps(part)
    return found
