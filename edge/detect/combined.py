"""Combined site rules: a joint warning while every condition's rule stands at or above its level.

Evaluated after the rule kernel, by replaying its transitions in order, so a joint event follows exactly the
transition that completed (or broke) it. Joint alarms have no delays of their own: their conditions' rules
already debounce.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.detect.tables import RuleRef
from protocols.config import Channel
from protocols.records import LEVEL_BY_NAME
from protocols.site import CombinedRule

COMBINED_DEVICE = "_site"
COMBINED_POINT = "_combined"


@dataclass(frozen=True)
class Joint:
    name: str
    level: int
    message: str
    conditions: tuple[tuple[int, int], ...]  # (rule index, min level)

    def level_for(self, levels: npt.NDArray[np.float64]) -> int:
        return self.level if all(levels[r] >= lvl for r, lvl in self.conditions) else 0


def resolve(
    combined: Sequence[CombinedRule], channels: Sequence[Channel], refs: Sequence[RuleRef]
) -> tuple[Joint, ...]:
    """Each combined rule with its conditions as rule indexes; ValueError naming what is missing."""
    by_key = {(channels[ref.channel].device_id, channels[ref.channel].point, ref.name): r
              for r, ref in enumerate(refs)}  # fmt: skip
    out = []
    for rule in combined:
        conds = []
        for cond in rule.all_of:
            device, point = cond.channel.split("/")
            r = by_key.get((device, point, cond.rule))
            if r is None:
                raise ValueError(f"combined rule {rule.name!r}: no rule {cond.rule!r} on {cond.channel}")
            conds.append((r, int(LEVEL_BY_NAME[cond.min_level])))
        out.append(Joint(rule.name, int(LEVEL_BY_NAME[rule.level]), rule.message, tuple(conds)))
    return tuple(out)


def watchers(joints: Sequence[Joint], n_rules: int) -> list[list[int]]:
    """For each rule index, the joints that depend on it."""
    out: list[list[int]] = [[] for _ in range(n_rules)]
    for j, joint in enumerate(joints):
        for r, _ in joint.conditions:
            if j not in out[r]:
                out[r].append(j)
    return out
