"""Human text for rule events: what crossed what, in the point's unit."""

from __future__ import annotations

import math
from datetime import UTC, datetime

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


def _threshold(levels: Levels | None, level: int) -> str:
    if levels is None or level == 0:
        return ""
    t = dict(levels.thresholds()).get(level)
    return f" (threshold {t:g})" if t is not None else ""


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


def describe(
    rule: Rule, channel: Channel, level: int, previous: int, value: float, *, forecast: Forecast | None
) -> str:
    """``north_mm: displacement velocity 12.5 mm/d reached yellow (threshold 10)``."""
    what, unit, levels = _quantity(rule, channel.unit)
    shown = "no value" if math.isnan(value) else f"{value:.6g}{' ' + unit if unit else ''}"
    if level > previous:
        text = f"{channel.point}: {what} {shown} reached {Level(level).label}{_threshold(levels, level)}"
    elif level == 0:
        text = f"{channel.point}: {what} {shown}, back to normal (was {Level(previous).label})"
    else:
        text = f"{channel.point}: {what} {shown}, down to {Level(level).label} (was {Level(previous).label})"
    if forecast is not None:
        when = datetime.fromtimestamp(forecast.failure_ts_ms / 1000.0, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        text += (
            f"; inverse-velocity forecast of failure {when} (r2 {forecast.r2:.2f}, {forecast.points} points)"
        )
    return text


def describe_combined(name: str, message: str, level: int, previous: int) -> str:
    base = message or f"combined rule {name}"
    if level > previous:
        return f"{base}: all conditions hold, {Level(level).label}"
    return f"{base}: conditions no longer all hold"
