"""Replay a scenario's models through the gateway's own detector bank, without processes or sockets.

Each channel is sampled at its device's poll interval (NMEA receivers at their output interval), values
come straight from the models (no register rounding), and the bank's events come back in order. This is
what the scenario promises before any transport is involved: the end-to-end test then checks that the
real processes keep the promise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.detect.bank import DetectorBank
from protocols.profile import NmeaPoint
from protocols.records import Event, ReadingBlock
from simulator import scenario as scenarios
from simulator.scenario import COMBINED_CHANNEL

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@dataclass(frozen=True)
class Replay:
    events: list[Event]
    start_ms: int

    def story_s(self, ts_ms: int) -> float:
        return (ts_ms - self.start_ms) / 1000.0

    def levels(self, channel: str, rule: str) -> list[int]:
        """The levels an alarm went through, in order (clearing included as 0)."""
        return [e.level for e in self.events if _short(e.channel) == channel and e.rule == rule]

    def of(self, channel: str, rule: str) -> list[Event]:
        return [e for e in self.events if _short(e.channel) == channel and e.rule == rule]


def _short(key: str) -> str:
    _, device, point = key.split("/")
    return f"{device}/{point}"


def replay(name: str, seed: int = 1, step_s: float = 60.0) -> Replay:
    loaded = scenarios.load(name)
    models = scenarios.device_models(loaded, seed)
    bound = loaded.bound
    index = bound.channel_index()
    bank = DetectorBank.from_site(bound)
    length_s = loaded.scenario.length
    samples: list[tuple[float, int, float]] = []
    for bd in bound.devices:
        dev = bd.device.id
        spec = loaded.scenario.devices.get(dev)
        model = models[dev]
        for p in bd.profile.points:
            key = f"{bound.gateway_id}/{dev}/{p.name}"
            if key not in index or model.is_text(p.name):
                continue
            if isinstance(p, NmeaPoint):
                interval_s = spec.output_interval if spec else 10.0
                horizontal = p.field == "horizontal_mm"
            else:
                interval_s = bd.poll_interval_ms(p) / 1000
                horizontal = False
            t = 0.0
            while t <= length_s:
                if horizontal:
                    value = float(np.hypot(model.value("north_mm", t), model.value("east_mm", t)))
                else:
                    value = model.value(p.name, t)
                samples.append((t, index[key], value))
                t += interval_s
    samples.sort()
    events: list[Event] = []
    i = 0
    while i < len(samples):
        j = i
        end = samples[i][0] + step_s
        while j < len(samples) and samples[j][0] < end:
            j += 1
        chunk = samples[i:j]
        block = ReadingBlock.of(
            [c for _, c, _ in chunk],
            [START_MS + round(t * 1000) for t, _, _ in chunk],
            [v for _, _, v in chunk],
            np.zeros(len(chunk)),
        )
        events += bank.step(block).events
        i = j
    return Replay(events, START_MS)


__all__ = ["COMBINED_CHANNEL", "Replay", "replay"]
