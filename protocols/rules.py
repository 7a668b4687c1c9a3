"""Warning rules, as written in hardware profiles (defaults per point) and site files (overrides).

Every rule has a ``type`` (the variant), a ``name`` (defaults to the type; unique per point), and warns in
up to four levels: blue (1), yellow (2), orange (3), red (4). The edge's detection bank gives them meaning
(``edge/detect``); this module only says what a valid rule is.

Thresholds are in the point's own unit (rates: the unit per ``per``); times in seconds.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Literal

from pydantic import Field

from protocols.modelbase import Identifier, StrictModel, at, cross_check, knows
from protocols.records import LEVEL_BY_NAME

LevelName = Literal["blue", "yellow", "orange", "red"]
Direction = Literal["above", "below"]
RateDirection = Literal["rising", "falling", "either"]
TimeBase = Literal["s", "min", "h", "d"]


class Levels(StrictModel):
    """Thresholds per level; give at least one. Escalating levels must be ordered with the direction."""

    blue: float | None = None
    yellow: float | None = None
    orange: float | None = None
    red: float | None = None

    def thresholds(self) -> list[tuple[int, float]]:
        """``[(level, threshold)]`` for the levels given, lowest level first."""
        given = ((LEVEL_BY_NAME[n], getattr(self, n)) for n in ("blue", "yellow", "orange", "red"))
        return [(int(lvl), float(t)) for lvl, t in given if t is not None]

    @cross_check
    def _some_and_finite(self) -> list[str]:
        pairs = self.thresholds()
        if not pairs:
            return ["give at least one of blue, yellow, orange, red"]
        for lvl, t in pairs:
            if not math.isfinite(t):
                name = next(n for n, v in LEVEL_BY_NAME.items() if v == lvl)
                return [at(name, f"must be a finite number (got {t})")]
        return []


def check_ordered(levels: Levels, rising: bool, key: str = "levels") -> list[str]:
    """A problem if thresholds do not grow (``rising``) or shrink with the level."""
    if not isinstance(levels, Levels) or not knows(levels, "blue", "yellow", "orange", "red"):
        return []
    pairs = levels.thresholds()
    for (l1, t1), (l2, t2) in itertools.pairwise(pairs):
        if (t2 <= t1) if rising else (t2 >= t1):
            word = "above" if rising else "below"
            names = {int(v): n for n, v in LEVEL_BY_NAME.items()}
            return [
                at(
                    f"{key}.{names[l2]}",
                    f"for a rule that warns {word} a threshold, {names[l2]} ({t2:g}) must be "
                    f"{'higher' if rising else 'lower'} than {names[l1]} ({t1:g})",
                )
            ]
    return []


class RuleBase(StrictModel):
    name: Identifier | None = None
    enabled: bool = True
    on_delay_s: float = Field(default=0.0, ge=0, description="condition must hold this long to raise")
    off_delay_s: float = Field(default=0.0, ge=0, description="condition must be gone this long to lower")

    @property
    def rule_name(self) -> str:
        return self.name or str(getattr(self, "type"))  # noqa: B009 - every variant defines type


class LevelRule(RuleBase):
    """The value crosses thresholds (high / high-high, low / low-low)."""

    type: Literal["level"]
    direction: Direction = "above"
    levels: Levels
    hysteresis: float = Field(default=0.0, ge=0, description="the value must retreat this far to lower")

    @cross_check
    def _ordered(self) -> list[str]:
        return check_ordered(self.levels, rising=self.direction == "above")


class RateRule(RuleBase):
    """The value changes faster than allowed: mm/h of displacement, % LEL/min, m/h of tank level."""

    type: Literal["rate"]
    direction: RateDirection = "rising"
    per: TimeBase = "h"
    window_s: float = Field(gt=0, description="the rate is the change over this trailing window")
    levels: Levels
    hysteresis: float = Field(default=0.0, ge=0)
    min_samples: int = Field(default=2, ge=2, description="fewer samples in the window give no rate")

    @cross_check
    def _ordered(self) -> list[str]:
        return check_ordered(self.levels, rising=True)

    @cross_check
    def _magnitudes(self) -> list[str]:
        if not knows(self.levels, "blue", "yellow", "orange", "red"):
            return []
        for lvl, t in self.levels.thresholds():
            if t <= 0:
                return [at("levels", f"rate thresholds are magnitudes > 0 (level {lvl}: {t:g})")]
        return []


class FlatlineRule(RuleBase):
    """A stuck sensor: the value moved less than ``tolerance`` for ``window_s``."""

    type: Literal["flatline"]
    window_s: float = Field(gt=0)
    tolerance: float = Field(default=0.0, ge=0)
    level: LevelName = "blue"


class FaultRule(RuleBase):
    """No usable value (no answer, exception, sensor fault, out of range) for ``after_s``."""

    type: Literal["fault"]
    after_s: float = Field(default=300.0, gt=0)
    level: LevelName = "blue"


class AnomalyRule(RuleBase):
    """The calibrated anomaly score (0..1) of the point's detector crosses thresholds.

    The score is ``-log10(p) / 10`` for the tail probability p of the sample's surprise on its own channel
    (``docs/detection.md``): 0.2 is one in a hundred, 0.5 one in a hundred thousand, on every stream.
    """

    type: Literal["anomaly"]
    levels: Levels = Levels(blue=0.5)

    @cross_check
    def _in_unit_interval(self) -> list[str]:
        ordered = check_ordered(self.levels, rising=True)
        if ordered or not knows(self.levels, "blue", "yellow", "orange", "red"):
            return ordered
        for _, t in self.levels.thresholds():
            if not 0.0 < t < 1.0:
                return [at("levels", f"anomaly thresholds lie between 0 and 1 (got {t:g})")]
        return []


class SlopeRule(RuleBase):
    """Slope deformation from a cumulative displacement point (mm).

    Warns on the displacement velocity (``velocity_levels``, in mm per ``per``) and on the improved tangent
    angle (``tangent_angle_levels``, degrees: 45 is steady creep at ``reference_velocity``), and forecasts the
    failure time by the inverse-velocity method once the fit of 1/v against time is good enough.
    """

    type: Literal["slope"]
    per: TimeBase = "d"
    velocity_window_s: float = Field(default=3600.0, gt=0)
    velocity_levels: Levels | None = None
    tangent_angle_levels: Levels | None = None
    reference_velocity: float | None = Field(
        default=None, gt=0, description="steady-creep velocity (mm per `per`); learned when not given"
    )
    learn_window_s: float = Field(default=7 * 86400.0, gt=0)
    forecast_window_s: float = Field(default=86400.0, gt=0)
    forecast_min_r2: float = Field(default=0.8, gt=0, le=1)

    @cross_check
    def _some_levels(self) -> list[str]:
        if self.velocity_levels is None and self.tangent_angle_levels is None:
            return ["give velocity_levels, tangent_angle_levels or both"]
        return []

    @cross_check
    def _velocities_ordered(self) -> list[str]:
        if self.velocity_levels is None:
            return []
        return check_ordered(self.velocity_levels, rising=True, key="velocity_levels")

    @cross_check
    def _angles(self) -> list[str]:
        angles = self.tangent_angle_levels
        if angles is None or not knows(angles, "blue", "yellow", "orange", "red"):
            return []
        ordered = check_ordered(angles, rising=True, key="tangent_angle_levels")
        if ordered:
            return ordered
        for _, t in angles.thresholds():
            if not 0.0 < t < 90.0:
                return [at("tangent_angle_levels", f"angles lie between 0 and 90 (got {t:g})")]
        return []


Rule = Annotated[
    LevelRule | RateRule | FlatlineRule | FaultRule | AnomalyRule | SlopeRule,
    Field(discriminator="type"),
]


def check_unique_rule_names(rules: tuple[RuleBase, ...], key: str = "rules") -> list[str]:
    """Problems (see ``modelbase.at``) for rule names used twice in one list."""
    seen: dict[str, int] = {}
    problems = []
    for i, rule in enumerate(rules):
        if not knows(rule, "name", "type"):
            continue
        if rule.rule_name in seen:
            problems.append(
                at(
                    f"{key}[{i}].name",
                    f"rule name {rule.rule_name!r} is used twice (also {key}[{seen[rule.rule_name]}]); "
                    "give one of them a `name`",
                )
            )
        seen.setdefault(rule.rule_name, i)
    return problems
