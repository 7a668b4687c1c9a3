"""What fired, as the structured fields of a rule event (``protocols.event_fields``).

Worked out per event from the rule, the level change and the measured value. A slope rule warns on two
criteria, the displacement velocity and the improved tangent angle, at whichever gives the higher level:
an escalation names the velocity when it reached the level's velocity threshold, else the tangent angle
(computed from the velocity and the reference velocity, as the kernel does). A lowering names the
threshold of the level left behind, crossed falling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from protocols.rules import (
    AnomalyRule,
    FaultRule,
    FlatlineRule,
    LevelRule,
    Levels,
    RateRule,
    Rule,
    SlopeRule,
)


@dataclass(frozen=True, slots=True)
class Fired:
    rule_kind: str
    criterion: str
    unit: str
    value: float  # of the criterion (a slope's tangent angle in degrees, not its velocity)
    threshold: float | None
    direction: str | None  # rising | falling


def _threshold(levels: Levels | None, level: int, previous: int) -> float | None:
    """The threshold crossed: the one of the level entered, or of the level left when lowering."""
    if levels is None:
        return None
    return dict(levels.thresholds()).get(level if level > previous else previous)


def _direction(level: int, previous: int, *, upward: bool = True) -> str:
    escalating = level > previous
    return "rising" if escalating == upward else "falling"


def tangent_angle_deg(velocity: float, reference_velocity: float) -> float:
    if math.isnan(velocity) or math.isnan(reference_velocity) or reference_velocity <= 0:
        return math.nan
    return math.degrees(math.atan(velocity / reference_velocity))


def fired(
    rule: Rule, unit: str, level: int, previous: int, value: float, *, reference_velocity: float = math.nan
) -> Fired:
    """The structured fields of ``rule``'s event from ``previous`` to ``level`` at ``value``."""
    kind = rule.type
    match rule:
        case LevelRule():
            t = _threshold(rule.levels, level, previous)
            return Fired(
                kind, "level", unit, value, t, _direction(level, previous, upward=rule.direction == "above")
            )
        case RateRule():
            t = _threshold(rule.levels, level, previous)
            return Fired(kind, "rate", f"{unit}/{rule.per}", value, t, _direction(level, previous))
        case FlatlineRule():
            return Fired(kind, "flatline", unit, value, None, None)
        case FaultRule():
            return Fired(kind, "no_value", unit, value, None, None)
        case AnomalyRule():
            t = _threshold(rule.levels, level, previous)
            return Fired(kind, "anomaly_score", "", value, t, _direction(level, previous))
        case SlopeRule():
            return _slope(rule, unit, level, previous, velocity=value, vref=reference_velocity)


def _slope(rule: SlopeRule, unit: str, level: int, previous: int, *, velocity: float, vref: float) -> Fired:
    direction = _direction(level, previous)
    velocity_t = _threshold(rule.velocity_levels, level, previous)
    by_velocity = velocity_t is not None and (
        level < previous or (not math.isnan(velocity) and velocity >= velocity_t)
    )
    if by_velocity or rule.tangent_angle_levels is None:
        return Fired(rule.type, "velocity", f"{unit}/{rule.per}", velocity, velocity_t, direction)
    angle_t = _threshold(rule.tangent_angle_levels, level, previous)
    angle = tangent_angle_deg(velocity, rule.reference_velocity or vref)
    return Fired(rule.type, "tangent_angle", "deg", angle, angle_t, direction)
