"""Channels, rules and blocks for the detection tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from edge.detect import DetectorBank
from protocols.config import Channel
from protocols.records import Event, ReadingBlock
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

GATEWAY = "gw"


def channel(
    point: str,
    *rules: Rule,
    device: str = "dev",
    unit: str = "mm",
    physical_range: tuple[float, float] | None = None,
) -> Channel:
    return Channel(f"{GATEWAY}/{device}/{point}", device, point, unit, physical_range, rules, "test", None)


def level(**kw: Any) -> LevelRule:
    kw.setdefault("levels", Levels(blue=10, yellow=20, orange=30, red=40))
    return LevelRule(type="level", **kw)


def every_rule() -> tuple[Rule, ...]:
    """One rule of each kind, with delays and hysteresis so every code path runs."""
    return (
        level(hysteresis=2.0, on_delay_s=30, off_delay_s=60),
        LevelRule(
            type="level", name="low", direction="below", levels=Levels(blue=-10, red=-40), hysteresis=1
        ),
        RateRule(type="rate", window_s=600, per="h", levels=Levels(blue=50, red=200), direction="either"),
        RateRule(
            type="rate",
            name="fall",
            window_s=300,
            per="min",
            levels=Levels(blue=1),
            direction="falling",
            min_samples=3,
        ),
        FlatlineRule(type="flatline", window_s=900, tolerance=0.01),
        FaultRule(type="fault", after_s=120, level="yellow"),
        AnomalyRule(type="anomaly", levels=Levels(blue=0.2, yellow=0.5)),
        SlopeRule(
            type="slope",
            per="h",
            velocity_window_s=600,
            velocity_levels=Levels(blue=20, red=100),
            tangent_angle_levels=Levels(blue=80, orange=85, red=89),
            learn_window_s=3600,
            forecast_window_s=7200,
            forecast_min_r2=0.5,
        ),
    )


def block(ch: Any, ts: Any, value: Any, quality: Any = None) -> ReadingBlock:
    n = len(np.asarray(ts))
    ch_arr = np.broadcast_to(np.asarray(ch), (n,))
    q = np.zeros(n) if quality is None else quality
    return ReadingBlock.of(ch_arr, ts, value, q)


def run(bank: DetectorBank, *blocks: ReadingBlock) -> list[Event]:
    out: list[Event] = []
    for b in blocks:
        out += bank.step(b).events
    return out


def transitions(events: list[Event]) -> list[tuple[int, str, int, int]]:
    """(ts_ms, rule, previous level, level) per event."""
    return [(e.ts_ms, e.rule, e.previous_level, e.level) for e in events]
