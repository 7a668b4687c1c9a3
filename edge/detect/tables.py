"""Rules as tables: what ``rulekernel.rules_step`` reads, built once from the channels' rule models.

Each enabled rule of each channel becomes one row (its *rule index*); ``chan_ptr``/``chan_rules`` list the
rows of each channel in the order the profile and site give them. Thresholds keep the point's unit, times
become milliseconds, rates are per millisecond inside the kernel and per ``per`` at its edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.detect import rulekernel as rk
from protocols.config import Channel
from protocols.records import LEVEL_BY_NAME
from protocols.rules import AnomalyRule, FaultRule, FlatlineRule, LevelRule, Levels, RateRule, Rule, SlopeRule
from protocols.units import TIME_BASES_S

RATE_RING = rk.RING_STORE_DIVISOR + 2  # points a window can hold at one per window / 16, plus slack
FORECAST_RING = 64

KIND_OF = {LevelRule: rk.K_LEVEL, RateRule: rk.K_RATE, FlatlineRule: rk.K_FLATLINE, FaultRule: rk.K_FAULT,
           AnomalyRule: rk.K_ANOMALY, SlopeRule: rk.K_SLOPE}  # fmt: skip
RATE_SIGN = {"rising": 1.0, "falling": -1.0, "either": 0.0}


@dataclass(frozen=True)
class RuleRef:
    """One row of the tables: which channel, which rule."""

    channel: int
    rule: Rule

    @property
    def name(self) -> str:
        return self.rule.rule_name


@dataclass(frozen=True)
class RuleTables:
    refs: tuple[RuleRef, ...]
    chan_ptr: npt.NDArray[np.int64]
    chan_rules: npt.NDArray[np.int64]
    rule_info: npt.NDArray[np.int64]
    params: npt.NDArray[np.float64]
    ring_size: int
    max_rules_per_channel: int

    def initial_state(self) -> npt.NDArray[np.float64]:
        state = np.zeros((len(self.refs), rk.S_WIDTH), dtype=np.float64)
        state[:, [rk.S_PEND_SINCE, rk.S_CHANGED_TS, rk.S_CHANGED_VALUE, rk.S_VALUE]] = np.nan
        for r, ref in enumerate(self.refs):
            kind = self.rule_info[r, rk.RI_KIND]
            if kind in (rk.K_FLATLINE, rk.K_FAULT):
                state[r, rk.S_A] = np.nan
                state[r, rk.S_B] = np.inf
                state[r, rk.S_C] = -np.inf
            if kind in (rk.K_RATE, rk.K_SLOPE):
                state[r, rk.S_C] = -np.inf
                state[r, rk.S_F] = -np.inf
            if isinstance(ref.rule, SlopeRule):
                state[r, [rk.S_LEARN_TS, rk.S_LEARN_X, rk.S_VREF, rk.S_ANGLE, rk.S_FC_TS, rk.S_FC_R2]] = (
                    np.nan
                )
        return state

    def initial_ring(self) -> npt.NDArray[np.float64]:
        return np.zeros((self.ring_size, 2), dtype=np.float64)


def _thresholds(params: npt.NDArray[np.float64], r: int, col: int, levels: Levels | None) -> None:
    if levels is not None:
        for lvl, t in levels.thresholds():
            params[r, col + lvl - 1] = t


def _fill(params: npt.NDArray[np.float64], r: int, rule: Rule, channel: Channel) -> None:
    params[r, rk.P_ON_MS] = rule.on_delay_s * 1000.0
    params[r, rk.P_OFF_MS] = rule.off_delay_s * 1000.0
    params[r, rk.P_SIGN] = 1.0
    match rule:
        case LevelRule():
            _thresholds(params, r, rk.P_T, rule.levels)
            params[r, rk.P_SIGN] = 1.0 if rule.direction == "above" else -1.0
            params[r, rk.P_HYST] = rule.hysteresis
        case RateRule():
            _thresholds(params, r, rk.P_T, rule.levels)
            params[r, rk.P_SIGN] = RATE_SIGN[rule.direction]
            params[r, rk.P_HYST] = rule.hysteresis
            params[r, rk.P_WINDOW_MS] = rule.window_s * 1000.0
            params[r, rk.P_PER_MS] = TIME_BASES_S[rule.per] * 1000.0
            params[r, rk.P_MIN_SAMPLES] = rule.min_samples
        case FlatlineRule():
            params[r, rk.P_WINDOW_MS] = rule.window_s * 1000.0
            params[r, rk.P_TOL] = rule.tolerance
            params[r, rk.P_FIXED_LEVEL] = LEVEL_BY_NAME[rule.level]
        case FaultRule():
            params[r, rk.P_AFTER_MS] = rule.after_s * 1000.0
            params[r, rk.P_FIXED_LEVEL] = LEVEL_BY_NAME[rule.level]
            if channel.physical_range is not None:
                params[r, rk.P_RANGE_LO], params[r, rk.P_RANGE_HI] = channel.physical_range
        case AnomalyRule():
            _thresholds(params, r, rk.P_T, rule.levels)
        case SlopeRule():
            _thresholds(params, r, rk.P_T, rule.velocity_levels)
            _thresholds(params, r, rk.P_ANGLE, rule.tangent_angle_levels)
            params[r, rk.P_WINDOW_MS] = rule.velocity_window_s * 1000.0
            params[r, rk.P_PER_MS] = TIME_BASES_S[rule.per] * 1000.0
            if rule.reference_velocity is not None:
                params[r, rk.P_VREF] = rule.reference_velocity
            params[r, rk.P_LEARN_MS] = rule.learn_window_s * 1000.0
            params[r, rk.P_FORECAST_MS] = rule.forecast_window_s * 1000.0
            params[r, rk.P_MIN_R2] = rule.forecast_min_r2


def build_tables(channels: Sequence[Channel]) -> RuleTables:
    """The rule tables of ``channels`` (their ``rules`` are already merged and filtered by ``enabled``)."""
    refs = [RuleRef(c, rule) for c, ch in enumerate(channels) for rule in ch.rules if rule.enabled]
    n = len(refs)
    rule_info = np.zeros((n, rk.RI_WIDTH), dtype=np.int64)
    params = np.full((n, rk.P_WIDTH), np.nan, dtype=np.float64)
    ring = 0
    for r, ref in enumerate(refs):
        rule_info[r, rk.RI_KIND] = KIND_OF[type(ref.rule)]
        rule_info[r, rk.RI_CHAN] = ref.channel
        _fill(params, r, ref.rule, channels[ref.channel])
        if isinstance(ref.rule, RateRule | SlopeRule):
            rule_info[r, rk.RI_OFF_A], rule_info[r, rk.RI_CAP_A] = ring, RATE_RING
            ring += RATE_RING
        if isinstance(ref.rule, SlopeRule):
            rule_info[r, rk.RI_OFF_B], rule_info[r, rk.RI_CAP_B] = ring, FORECAST_RING
            ring += FORECAST_RING
    counts = (
        np.bincount(rule_info[:, rk.RI_CHAN], minlength=len(channels)) if n else np.zeros(len(channels), int)
    )
    chan_ptr = np.zeros(len(channels) + 1, dtype=np.int64)
    chan_ptr[1:] = np.cumsum(counts)
    chan_rules = np.arange(n, dtype=np.int64)  # refs are already grouped by channel, in order
    return RuleTables(
        tuple(refs), chan_ptr, chan_rules, rule_info, params, ring, int(counts.max()) if len(counts) else 0
    )
