"""The anomaly score: one streaming detector per channel, one configuration for every stream.

Design (the kernel is ``edge.detect.anomalykernel``; ``docs/detection.md`` has the reasoning and the NAB
figures):

1. Downsample by ``downsample``: each bucket is represented by its most extreme value (the one furthest
   from a running average), so a one-sample spike survives.
2. The last ``window`` downsampled values form a pattern. A codebook of ``prototypes`` patterns (an
   ART-like clustering) remembers what this channel has done. The raw surprise is the distance (largest
   absolute difference) to the nearest prototype in units of the range seen so far: unit-free. The
   shipped configuration uses a window of one value: the codebook is then the set of levels this channel
   has visited, at 1 % of its range, and the surprise says how far outside everything it has done before
   the value lies (a new extreme, a level it never held, a spike).
3. Calibration: the surprise is ranked against a fading histogram of this channel's own past surprises
   (log scale), giving a tail probability ``p``. The score is ``-log10(p) / 10`` clipped to [0, 1]: a score
   means the same rarity on every stream (0.5 = one in 10^5), whatever its unit or noise.
4. Learning: a pattern within ``vigilance`` of a prototype nudges it (``learn_rate``, 0 by default); a
   novel one becomes a new prototype (replacing the least recently matched when the codebook is full).
   No look-ahead: the sample is scored before anything learns from it.
5. Alert suppression: a score is reported only when it beats a decaying memory of recent scores, so one
   episode yields one early peak instead of a run of repeated alerts.

Unusable samples (quality voids the value, non-finite values) and late samples score 0 and do not learn.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, fields

import numpy as np
import numpy.typing as npt

from edge.detect.anomalykernel import (
    A_DS_MAX,
    A_DS_MIN,
    A_HIST_WEIGHT,
    A_LAST_TS,
    A_LOG_MAX,
    A_VMAX,
    A_VMIN,
    C_WIDTH,
    row_width,
)


@dataclass(frozen=True)
class AnomalyConfig:
    downsample: int = 1
    window: int = 1  # 1: value novelty; longer windows add pattern novelty (scored worse on NAB, see docs)
    prototypes: int = 128
    vigilance: float = 0.01  # of the range seen so far: the codebook's resolution
    learn_rate: float = 0.0  # remembered values stay where they were seen
    warm_up: int = 40
    history_half_life: float = 4000.0  # downsampled steps
    suppress_decay: float = 0.999  # per downsampled step
    eps: float = 1e-3
    tail: float = 0.5
    bin_width: float = 0.1
    log_min: float = -7.0
    bins: int = 80

    def vector(self) -> npt.NDArray[np.float64]:
        """The ``cfg`` vector the kernel reads (order: ``anomalykernel.C_*``)."""
        fade = math.exp(-math.log(2.0) / self.history_half_life)
        values = dict(zip((f.name for f in fields(self)), astuple(self), strict=True))
        out = np.array(
            [
                values["downsample"], values["window"], values["prototypes"], values["vigilance"],
                values["learn_rate"], values["warm_up"], fade, values["suppress_decay"], values["eps"],
                values["tail"], values["bin_width"], values["log_min"], values["bins"],
            ],
            dtype=np.float64,
        )  # fmt: skip
        assert len(out) == C_WIDTH
        return out

    @property
    def row_width(self) -> int:
        return row_width(self.window, self.prototypes, self.bins)

    def initial_state(self, channels: int) -> npt.NDArray[np.float64]:
        """The state rows of ``channels`` fresh detectors."""
        a = np.zeros((channels, self.row_width), dtype=np.float64)
        a[:, A_LAST_TS] = -np.inf
        a[:, A_VMIN] = np.inf
        a[:, A_VMAX] = -np.inf
        a[:, A_DS_MIN] = np.inf
        a[:, A_DS_MAX] = -np.inf
        a[:, A_LOG_MAX] = -np.inf
        a[:, A_HIST_WEIGHT] = 1.0
        return a


DEFAULT_ANOMALY = AnomalyConfig()
