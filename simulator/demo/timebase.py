"""Story time and gateway time, and the one mapping between them.

The gateways run fast-forwarded clocks anchored at the demo's start (``fieldwatch-edge run --speed X
--clock-origin-ms ORIGIN``): a gateway stamps ``origin + (wall now - origin) * speed``, whether it is
the first run or a restart after a power cut. The stories start together at ``go`` (the demo's SIGUSR1
to the simulators), so story time ``t`` is gateway time ``edge_ms(go) + 1000 t``: an alarm's stamp says
when in the story it happened, and a forecast failure time can be compared with the scenario's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class TimeBase:
    speed: float
    origin_ms: int = field(default_factory=wall_ms)
    go_wall_ms: int | None = None

    def edge_ms(self, at_wall_ms: int) -> int:
        """What a gateway's clock reads at wall time ``at_wall_ms``."""
        return self.origin_ms + int((at_wall_ms - self.origin_ms) * self.speed)

    def go(self) -> None:
        self.go_wall_ms = wall_ms()

    @property
    def go_edge_ms(self) -> int:
        return self.edge_ms(self.go_wall_ms if self.go_wall_ms is not None else wall_ms())

    def story_s(self, edge_ts_ms: int) -> float:
        """The story time (s) of a gateway stamp."""
        return (edge_ts_ms - self.go_edge_ms) / 1000.0

    def edge_ms_of_story(self, story_s: float) -> int:
        return self.go_edge_ms + round(story_s * 1000.0)

    def story_now_s(self) -> float:
        if self.go_wall_ms is None:
            return 0.0
        return (wall_ms() - self.go_wall_ms) * self.speed / 1000.0
