"""Did each story raise what its scenario promised? Checked on the central's alarm timelines.

A scenario's ``expect`` entries name an alarm (``device/point`` and rule, or ``_site/_combined`` and a
combined rule) and the levels it must pass through in order. Each timeline entry an event made carries
the level it set; the levels an alarm *reached* are the increasing run of them (later de-escalations and
clears are the story ending, not a failure). A slope expectation with ``forecast: true`` also needs the
inverse-velocity forecasts to settle on the scenario's failure time: the last two made before the
failure both within ``FORECAST_SHARE`` of the story's time to failure (3.5 h: 10.5 min). In practice they
settle within a few minutes, a little early more often than late: a velocity measured over a trailing
window lags a velocity growing as 1/(t_f - t), as it does in the field.

A run cut short (``--duration-s``, Ctrl-C) is judged on what was due by the story time it reached: each
expected level has a ``due`` time (the expectation's, else the story's end); a level not due yet is not
judged, and neither is a forecast before its alarm's last level is due.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from protocols.records import LEVEL_BY_NAME, Level
from simulator.demo.timebase import TimeBase
from simulator.spec import Expectation, Scenario

LEVEL_KINDS = frozenset({"raised", "escalated", "deescalated", "cleared", "reraised", "updated", "late"})
FORECAST_SHARE = 0.05


@dataclass(frozen=True)
class Forecasts:
    failure_at_s: float  # the scenario's truth
    made: list[tuple[float, float]] = field(default_factory=list)  # (story time, forecast failure time)

    @property
    def converged(self) -> bool:
        last = [f for t, f in self.made if t < self.failure_at_s][-2:]
        tolerance_s = FORECAST_SHARE * self.failure_at_s
        return len(last) == 2 and all(abs(f - self.failure_at_s) <= tolerance_s for f in last)


@dataclass(frozen=True)
class Outcome:
    expectation: Expectation
    reached: list[int]  # levels reached, in order
    first_story_s: float | None  # when the alarm was first raised
    forecasts: Forecasts | None = None
    ran_to_s: float = float("inf")  # the story time the run reached
    length_s: float = 0.0  # the story's length: when levels without a due time are due

    @property
    def wanted(self) -> list[int]:
        return [int(LEVEL_BY_NAME[level]) for level in self.expectation.levels]

    @property
    def due_s(self) -> list[float]:
        return list(self.expectation.due) or [self.length_s] * len(self.wanted)

    @property
    def due(self) -> int:
        """How many of the expected levels were due by the time the run reached."""
        return sum(1 for t in self.due_s if t <= self.ran_to_s)

    @property
    def met(self) -> bool:
        """Every level due came, in order (and the forecast settled, once it is due): nothing due missed."""
        levels_ok = self.reached[: self.due] == self.wanted[: self.due]
        forecast_due = self.due == len(self.wanted)
        return levels_ok and (self.forecasts is None or not forecast_due or self.forecasts.converged)

    def text(self) -> str:
        names = " > ".join(Level(level).label for level in self.reached) or "none"
        out = f"{self.expectation.channel} {self.expectation.rule}: {names}"
        if self.forecasts is not None and self.forecasts.made:
            f = self.forecasts.made[-1][1]
            out += f"; forecast failure at {f / 3600:.2f} h (true {self.forecasts.failure_at_s / 3600:.2f} h)"
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.expectation.channel, "rule": self.expectation.rule,
            "wanted": [Level(v).label for v in self.wanted],
            "reached": [Level(v).label for v in self.reached],
            "due": [Level(v).label for v in self.wanted[: self.due]],
            "not_due": [Level(v).label for v in self.wanted[self.due :]],
            "first_story_s": self.first_story_s, "met": self.met,
            "forecasts": None if self.forecasts is None else {
                "failure_at_s": self.forecasts.failure_at_s, "made": self.forecasts.made,
                "converged": self.forecasts.converged,
            },
        }  # fmt: skip


def reached_levels(levels: Sequence[int]) -> list[int]:
    out: list[int] = []
    for level in levels:
        if level > (out[-1] if out else 0):
            out.append(level)
    return out


def failure_at_s(scenario: Scenario, device: str) -> float | None:
    """The failure time of the creep model behind a device's points, if it has one."""
    spec = scenario.devices.get(device)
    for point in spec.points.values() if spec else ():
        for part in (point, *point.plus):
            if part.creep is not None:
                return part.creep.failure_at
    return None


def check(
    scenario: Scenario,
    gateway: str,
    timelines: Mapping[int, Mapping[str, Any]],
    timebase: TimeBase,
    ran_to_s: float = float("inf"),
) -> list[Outcome]:
    """Each expectation of ``scenario`` against the gateway's alarms (``/api/v1/alarms/{id}`` bodies), for
    a run that reached story time ``ran_to_s``."""
    outcomes = []
    for exp in scenario.expect:
        key = f"{gateway}/{exp.channel}"
        entries = sorted(
            (entry for detail in timelines.values() if detail["alarm"]["channel"] == key
             and detail["alarm"]["rule"] == exp.rule for entry in detail["timeline"]),
            key=lambda e: (e["ts_ms"], e["event_seq"] or 0),
        )  # fmt: skip
        levels = [int(e["level"]) for e in entries if e["kind"] in LEVEL_KINDS and e["level"] is not None]
        raised = next((e["ts_ms"] for e in entries if e["kind"] in ("raised", "reraised")), None)
        forecasts = None
        if exp.forecast:
            truth = failure_at_s(scenario, exp.channel.split("/")[0])
            made = [
                (timebase.story_s(e["ts_ms"]), timebase.story_s(e["forecast"]["failure_ts_ms"]))
                for e in entries
                if e.get("forecast")
            ]
            forecasts = Forecasts(truth if truth is not None else float("nan"), made)
        first = None if raised is None else timebase.story_s(raised)
        outcomes.append(Outcome(exp, reached_levels(levels), first, forecasts, ran_to_s, scenario.length))
    return outcomes


def quiet_breaches(scenario: Scenario, gateway: str, alarms: Sequence[Mapping[str, Any]]) -> list[str]:
    """Alarms on the scenario's quiet devices other than comm and fault (a neighbour that saw the fire)."""
    quiet = {f"{gateway}/{device}/" for device in scenario.quiet}
    return [
        f"{a['channel']} {a['rule']}"
        for a in alarms
        if any(a["channel"].startswith(q) for q in quiet) and a["rule"] not in ("comm", "fault")
    ]
