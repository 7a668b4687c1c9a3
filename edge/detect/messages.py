"""Human text for rule events: what crossed what, in the point's unit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from edge.detect.fired import Fired
from protocols.config import Channel
from protocols.records import Forecast, Level
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

LABELS = tuple(level.label for level in Level)


@dataclass(frozen=True, slots=True)
class Phrase:
    """What every event of one (channel, rule) says, worked out once: the bank keeps one per rule."""

    point: str
    what: str  # what is measured
    unit: str
    thresholds: dict[int, float]  # level -> threshold, for the levels the quantity is compared with
    angle_thresholds: dict[int, float] = field(default_factory=dict)  # a slope's tangent-angle levels


def _quantity(rule: Rule, unit: str) -> tuple[str, str, Levels | None]:
    """(what is measured, its unit, the levels it is compared with)."""
    match rule:
        case LevelRule():
            return f"value {rule.direction} threshold", unit, rule.levels
        case RateRule():
            return f"rate ({rule.direction})", f"{unit}/{rule.per}", rule.levels
        case FlatlineRule():
            return f"value unchanged (within {rule.tolerance:g}) for {rule.window_s:g} s", unit, None
        case FaultRule():
            return f"no usable in-range value for {rule.after_s:g} s", unit, None
        case AnomalyRule():
            return "anomaly score", "", rule.levels
        case SlopeRule():
            return "displacement velocity", f"{unit}/{rule.per}", rule.velocity_levels


def phrase(rule: Rule, channel: Channel) -> Phrase:
    what, unit, levels = _quantity(rule, channel.unit)
    angles = rule.tangent_angle_levels if isinstance(rule, SlopeRule) else None
    return Phrase(
        channel.point, what, unit, dict(levels.thresholds()) if levels is not None else {},
        dict(angles.thresholds()) if angles is not None else {},
    )  # fmt: skip


def describe(
    rule: Rule, channel: Channel, level: int, previous: int, value: float, *, forecast: Forecast | None
) -> str:
    """``north_mm: displacement velocity 12.5 mm/d reached yellow (threshold 10)``."""
    return say(phrase(rule, channel), level, previous, value, forecast)


def say(p: Phrase, level: int, previous: int, value: float, forecast: Forecast | None) -> str:
    """The text of one event of the rule ``p`` describes (as ``describe``)."""
    shown = "no value" if math.isnan(value) else f"{value:.6g}{' ' + p.unit if p.unit else ''}"
    if level > previous:
        t = p.thresholds.get(level) if level else None
        threshold = f" (threshold {t:g})" if t is not None else ""
        text = f"{p.point}: {p.what} {shown} reached {LABELS[level]}{threshold}"
    elif level == 0:
        text = f"{p.point}: {p.what} {shown}, back to normal (was {LABELS[previous]})"
    else:
        text = f"{p.point}: {p.what} {shown}, down to {LABELS[level]} (was {LABELS[previous]})"
    return text + _forecast_text(forecast)


def say_fired(
    p: Phrase, f: Fired, level: int, previous: int, *, value: float, forecast: Forecast | None
) -> str:
    """``say``, naming the criterion that fired: a slope that warned on its tangent angle says so, with
    the angle's threshold, and gives the velocity beside it (not the velocity threshold it did not reach)."""
    if f.criterion != "tangent_angle":
        return say(p, level, previous, value, forecast)
    angle = Phrase(p.point, "tangent angle", "deg", p.angle_thresholds)
    velocity = "no value" if math.isnan(value) else f"{value:.6g} {p.unit}"
    text = say(angle, level, previous, f.value, None)
    return f"{text}; {p.what} {velocity}{_forecast_text(forecast)}"


def _forecast_text(forecast: Forecast | None) -> str:
    if forecast is None:
        return ""
    when = datetime.fromtimestamp(forecast.failure_ts_ms / 1000.0, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"; inverse-velocity forecast of failure {when} (r2 {forecast.r2:.2f}, {forecast.points} points)"


def describe_combined(name: str, message: str, level: int, previous: int) -> str:
    base = message or f"combined rule {name}"
    if level > previous:
        return f"{base}: all conditions hold, {LABELS[level]}"
    return f"{base}: conditions no longer all hold"
