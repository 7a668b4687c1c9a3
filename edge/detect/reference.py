"""Plain-Python twins of the numba kernels, with the same signatures and the same state layout.

Slow and written to be read: one small function per rule kind, numpy for the vector parts. The tests run
both on the same input and compare events, scores and state (``tests/edge/detect``). Nothing here runs on
the gateway.
"""

# The twins keep the kernels' positional signatures.
# ruff: noqa: PLR0917
from __future__ import annotations

import math
from typing import Any

import numpy as np

from edge.detect import anomalykernel as ak
from edge.detect import rulekernel as rk

Array = Any  # numpy arrays of the kernel's layout


# ---------------------------------------------------------------- rules


def _levels(params: Array, r: int, col: int) -> list[tuple[int, float]]:
    return [
        (lvl, float(params[r, col + lvl - 1]))
        for lvl in range(1, 5)
        if not math.isnan(params[r, col + lvl - 1])
    ]


def level_target(x: float, params: Array, r: int, t0: int, level: float, sign: float, hyst: float) -> int:
    if sign >= 0:
        entered = [lvl for lvl, t in _levels(params, r, t0) if x >= t]
        held = [lvl for lvl, t in _levels(params, r, t0) if x >= t - hyst and lvl <= level]
    else:
        entered = [lvl for lvl, t in _levels(params, r, t0) if x <= t]
        held = [lvl for lvl, t in _levels(params, r, t0) if x <= t + hyst and lvl <= level]
    return max([0, *entered, *held])


class _Ring:
    """A view of one rule's ring buffer; head, count and last-kept ts live in state[r, col:col+3]."""

    def __init__(self, ring: Array, off: int, cap: int, state: Array, r: int, col: int) -> None:
        self.ring, self.off, self.cap, self.state, self.r, self.col = ring, off, cap, state, r, col

    def points(self) -> list[tuple[float, float]]:
        head, cnt = int(self.state[self.r, self.col]), int(self.state[self.r, self.col + 1])
        return [tuple(self.ring[self.off + (head + k) % self.cap]) for k in range(cnt)]

    def drop_older_than(self, ts: float) -> None:
        while self.points() and self.points()[0][0] < ts:
            self.state[self.r, self.col] = (self.state[self.r, self.col] + 1) % self.cap
            self.state[self.r, self.col + 1] -= 1

    def keep(self, ts: float, x: float, spacing: float) -> None:
        pts = self.points()
        if pts and ts - self.state[self.r, self.col + 2] < spacing:
            return
        head, cnt = int(self.state[self.r, self.col]), len(pts)
        self.ring[self.off + (head + cnt) % self.cap] = (ts, x)
        if cnt == self.cap:
            self.state[self.r, self.col] = (head + 1) % self.cap
        else:
            self.state[self.r, self.col + 1] = cnt + 1
        self.state[self.r, self.col + 2] = ts


def windowed_rate(ring: _Ring, ts: float, x: float, window: float, min_samples: float) -> tuple[float, float]:
    ring.drop_older_than(ts - window)
    pts = ring.points()
    rate, t0 = math.nan, math.nan
    if pts and len(pts) + 1 >= min_samples:
        t0, x0 = pts[0]
        if ts - t0 > 0 and ts - t0 >= 0.5 * window:
            rate = (x - x0) / (ts - t0)
    ring.keep(ts, x, window / rk.RING_STORE_DIVISOR)
    return rate, t0


def _ring(rule_info: Array, ring: Array, state: Array, r: int, which: str) -> _Ring:
    if which == "A":
        return _Ring(ring, int(rule_info[r, rk.RI_OFF_A]), int(rule_info[r, rk.RI_CAP_A]), state, r, rk.S_A)
    return _Ring(ring, int(rule_info[r, rk.RI_OFF_B]), int(rule_info[r, rk.RI_CAP_B]), state, r, rk.S_D)


def inverse_velocity_fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    if len(points) < rk.FORECAST_MIN_POINTS:
        return math.nan, math.nan
    t = np.array([p[0] for p in points]) - points[-1][0]
    y = np.array([p[1] for p in points])
    dt, dy = t - t.mean(), y - y.mean()
    stt, sty, syy = float(dt @ dt), float(dt @ dy), float(dy @ dy)
    if stt <= 0 or syy <= 0 or sty >= 0:
        return math.nan, math.nan
    b = sty / stt
    a = y.mean() - b * t.mean()
    return points[-1][0] - a / b, sty * sty / (stt * syy)


def slope_update(
    r: int, ts: float, x: float, params: Array, state: Array, rule_info: Array, ring: Array
) -> tuple[int, float]:
    per = params[r, rk.P_PER_MS]
    rate, t0 = windowed_rate(_ring(rule_info, ring, state, r, "A"), ts, x, params[r, rk.P_WINDOW_MS], 2.0)
    if math.isnan(state[r, rk.S_LEARN_TS]):
        state[r, rk.S_LEARN_TS], state[r, rk.S_LEARN_X] = ts, x
    elif math.isnan(state[r, rk.S_VREF]) and ts - state[r, rk.S_LEARN_TS] >= params[r, rk.P_LEARN_MS]:
        learned = abs(x - state[r, rk.S_LEARN_X]) / (ts - state[r, rk.S_LEARN_TS]) * per
        state[r, rk.S_VREF] = max(learned, 1e-12)
    if math.isnan(rate):
        return -1, math.nan
    v = abs(rate) * per
    vref = state[r, rk.S_VREF] if math.isnan(params[r, rk.P_VREF]) else params[r, rk.P_VREF]
    angle = math.nan if math.isnan(vref) else math.degrees(math.atan(v / vref))
    state[r, rk.S_ANGLE] = angle
    inv = _ring(rule_info, ring, state, r, "B")
    window = params[r, rk.P_FORECAST_MS]
    inv.drop_older_than(ts - window)
    if v > 0:
        inv.keep(0.5 * (ts + t0), 1.0 / abs(rate), window / (inv.cap - 2))
    points = inv.points()
    fc_ts, r2 = inverse_velocity_fit(points)
    ok = not math.isnan(fc_ts) and r2 >= params[r, rk.P_MIN_R2]
    state[r, rk.S_FC_TS], state[r, rk.S_FC_R2] = (fc_ts, r2) if ok else (math.nan, math.nan)
    state[r, rk.S_FC_POINTS] = len(points) if ok else 0
    level = state[r, rk.S_LEVEL]
    target = level_target(v, params, r, rk.P_T, level, 1.0, 0.0)
    if not math.isnan(angle):
        target = max(target, level_target(angle, params, r, rk.P_ANGLE, level, 1.0, 0.0))
    return target, v


def flatline_update(r: int, ts: float, x: float, params: Array, state: Array) -> int:
    lo, hi = min(state[r, rk.S_B], x), max(state[r, rk.S_C], x)
    if math.isnan(state[r, rk.S_A]) or hi - lo > params[r, rk.P_TOL]:
        state[r, rk.S_A], lo, hi = ts, x, x
    state[r, rk.S_B], state[r, rk.S_C] = lo, hi
    return int(ts - state[r, rk.S_A] >= params[r, rk.P_WINDOW_MS])


def fault_update(
    r: int, ts: float, x: float, usable: bool, q: int, oor: int, params: Array, state: Array
) -> int:
    lo, hi = params[r, rk.P_RANGE_LO], params[r, rk.P_RANGE_HI]
    bad = not usable or bool(q & oor) or (not math.isnan(lo) and x < lo) or (not math.isnan(hi) and x > hi)
    if not bad:
        state[r, rk.S_A] = math.nan
        return 0
    if math.isnan(state[r, rk.S_A]):
        state[r, rk.S_A] = ts
    return int(ts - state[r, rk.S_A] >= params[r, rk.P_AFTER_MS])


def settle(
    r: int,
    i: int,
    ts: float,
    target: float,
    value: float,
    params: Array,
    state: Array,
    events: list[tuple[Any, ...]],
) -> None:
    level = state[r, rk.S_LEVEL]
    if target == level:
        state[r, rk.S_PEND_DIR] = 0.0
        return
    direction = 1.0 if target > level else -1.0
    if state[r, rk.S_PEND_DIR] != direction:
        state[r, rk.S_PEND_DIR], state[r, rk.S_PEND_SINCE] = direction, ts
    delay = params[r, rk.P_ON_MS] if direction > 0 else params[r, rk.P_OFF_MS]
    if ts - state[r, rk.S_PEND_SINCE] >= delay:
        events.append((i, r, int(target), int(level), value))
        state[r, rk.S_LEVEL], state[r, rk.S_PEND_DIR] = target, 0.0
        state[r, rk.S_CHANGED_TS], state[r, rk.S_CHANGED_VALUE] = ts, value


def _measure(
    kind: int,
    r: int,
    i: int,
    t: float,
    x: float,
    scores: Array,
    params: Array,
    state: Array,
    rule_info: Array,
    ring: Array,
) -> tuple[float, float] | None:
    level = state[r, rk.S_LEVEL]
    if kind == rk.K_LEVEL:
        return float(level_target(x, params, r, rk.P_T, level, params[r, rk.P_SIGN], params[r, rk.P_HYST])), x
    if kind == rk.K_RATE:
        rate, _ = windowed_rate(
            _ring(rule_info, ring, state, r, "A"),
            t,
            x,
            params[r, rk.P_WINDOW_MS],
            params[r, rk.P_MIN_SAMPLES],
        )
        rate *= params[r, rk.P_PER_MS]
        measured = abs(rate) if params[r, rk.P_SIGN] == 0 else rate * params[r, rk.P_SIGN]
        if math.isnan(measured):
            return None
        return float(level_target(measured, params, r, rk.P_T, level, 1.0, params[r, rk.P_HYST])), measured
    if kind == rk.K_FLATLINE:
        return float(flatline_update(r, t, x, params, state) * params[r, rk.P_FIXED_LEVEL]), x
    if kind == rk.K_ANOMALY:
        return float(level_target(scores[i], params, r, rk.P_T, level, 1.0, 0.0)), float(scores[i])
    target, v = slope_update(r, t, x, params, state, rule_info, ring)
    return None if target < 0 else (float(target), v)


def rules_step(
    ch: Array, ts: Array, val: Array, qual: Array, scores: Array,
    no_value_mask: Array, out_of_range_flag: Array,
    chan_ptr: Array, chan_rules: Array, rule_info: Array, params: Array, state: Array, ring: Array,
    chan_state: Array, ev_int: Array, ev_float: Array,
) -> int:  # fmt: skip
    """The reference of ``rulekernel.rules_step``."""
    n_ev = 0
    for i in range(len(ch)):
        c, t, x, q = int(ch[i]), float(ts[i]), float(val[i]), int(qual[i])
        if t < chan_state[c, rk.CH_LAST_TS]:
            chan_state[c, rk.CH_LATE] += 1
            continue
        chan_state[c, rk.CH_LAST_TS] = t
        usable = not (q & int(no_value_mask)) and math.isfinite(x)
        for r in chan_rules[chan_ptr[c] : chan_ptr[c + 1]]:
            kind = int(rule_info[r, rk.RI_KIND])
            events: list[tuple[Any, ...]] = []
            if kind == rk.K_FAULT:
                hit = fault_update(r, t, x, usable, q, int(out_of_range_flag), params, state)
                state[r, rk.S_VALUE] = x
                settle(r, i, t, hit * params[r, rk.P_FIXED_LEVEL], x, params, state, events)
            elif usable:
                measured = _measure(kind, r, i, t, x, scores, params, state, rule_info, ring)
                if measured is not None:
                    state[r, rk.S_VALUE] = measured[1]
                    settle(r, i, t, measured[0], measured[1], params, state, events)
            for e in events:
                ev_int[n_ev] = e[:4]
                fc = (
                    (state[r, rk.S_FC_TS], state[r, rk.S_FC_R2], state[r, rk.S_FC_POINTS])
                    if kind == rk.K_SLOPE
                    else (math.nan, math.nan, 0.0)
                )
                ev_float[n_ev] = (e[4], *fc)
                n_ev += 1
    return n_ev


# ---------------------------------------------------------------- anomaly score


def _score(row: Array, x: float, cfg: Array) -> float:
    window, protos, bins = int(cfg[ak.C_WINDOW]), int(cfg[ak.C_PROTOTYPES]), int(cfg[ak.C_BINS])
    w0 = ak.A_SCALARS
    p0, u0 = w0 + window, w0 + window + protos * window
    h0 = u0 + protos
    row[ak.A_N] += 1
    row[ak.A_VMIN], row[ak.A_VMAX] = min(row[ak.A_VMIN], x), max(row[ak.A_VMAX], x)
    # downsample: keep the bucket's value furthest from the running average
    row[ak.A_DS_COUNT] += 1
    row[ak.A_DS_SUM] += x
    row[ak.A_DS_MIN], row[ak.A_DS_MAX] = min(row[ak.A_DS_MIN], x), max(row[ak.A_DS_MAX], x)
    if row[ak.A_DS_COUNT] < cfg[ak.C_DOWNSAMPLE]:
        return 0.0
    mean = row[ak.A_DS_SUM] / row[ak.A_DS_COUNT]
    avg = mean if row[ak.A_STEPS] == 0 else 0.5 * (row[ak.A_DS_AVG] + mean)
    hi, lo = row[ak.A_DS_MAX], row[ak.A_DS_MIN]
    ds = hi if abs(hi - avg) >= abs(lo - avg) else lo
    row[ak.A_DS_AVG] = avg
    row[[ak.A_DS_COUNT, ak.A_DS_SUM, ak.A_DS_MIN, ak.A_DS_MAX]] = (0.0, 0.0, np.inf, -np.inf)
    row[ak.A_STEPS] += 1
    win = row[w0 : w0 + window]
    win[:-1] = win[1:].copy()
    win[-1] = ds
    row[ak.A_FILLED] = min(row[ak.A_FILLED] + 1, window)
    if row[ak.A_FILLED] < window:
        return 0.0
    nproto = int(row[ak.A_NPROTO])
    table = row[p0 : p0 + protos * window].reshape(protos, window)
    dists = np.abs(table[:nproto] - win).max(axis=1) if nproto else np.zeros(0)
    bk = int(np.argmin(dists)) if nproto else -1
    if window == 1 and nproto:  # a sorted codebook: of two equally near values, the lower
        bk = int(np.flatnonzero(dists == dists.min())[0])
    surprise = 1.0 if bk < 0 else float(dists[bk]) / max(row[ak.A_VMAX] - row[ak.A_VMIN], 1e-300)
    # calibrate against this channel's past surprises
    level = math.log(surprise + cfg[ak.C_EPS])
    b = min(max(int((level - cfg[ak.C_LOG_MIN]) / cfg[ak.C_BIN_WIDTH]), 0), bins - 1)
    # counts are kept times a weight w that grows by 1 / fade a step: hist / w is the faded histogram
    hist = row[h0 : h0 + bins]
    w = row[ak.A_HIST_WEIGHT]
    faded_total = row[ak.A_HIST_TOTAL] / w
    if level > row[ak.A_LOG_MAX]:
        p = 0.5 / (faded_total + 1.0) * math.exp(-(level - row[ak.A_LOG_MAX]) / cfg[ak.C_TAIL])
    else:
        p = (math.fsum(hist[b:]) / w + 0.5) / (faded_total + 1.0)
    w /= cfg[ak.C_HIST_FADE]
    hist[b] += w
    row[ak.A_HIST_TOTAL] += w
    if w > ak.RESCALE_AT:
        hist /= w
        row[ak.A_HIST_TOTAL] /= w
        w = 1.0
    row[ak.A_HIST_WEIGHT] = w
    row[ak.A_LOG_MAX] = max(row[ak.A_LOG_MAX], level)
    # learn
    uses = row[u0 : u0 + protos]
    if bk >= 0 and surprise <= cfg[ak.C_VIGILANCE]:
        table[bk] += cfg[ak.C_LEARN_RATE] * (win - table[bk])
        uses[bk] = row[ak.A_STEPS]
    elif window == 1:  # keep (value, last use) pairs sorted by value; when full, drop the stalest
        pairs = list(zip(table[:nproto, 0], uses[:nproto], strict=True))
        if nproto == protos:
            del pairs[int(np.argmin(uses[:nproto]))]
        pairs.insert(
            int(np.searchsorted([v for v, _ in pairs], win[0], side="left")), (win[0], row[ak.A_STEPS])
        )
        table[: len(pairs), 0] = [v for v, _ in pairs]
        uses[: len(pairs)] = [u for _, u in pairs]
        row[ak.A_NPROTO] = len(pairs)
    else:
        bk = nproto if nproto < protos else int(np.argmin(uses[:nproto]))
        row[ak.A_NPROTO] = max(nproto, bk + 1)
        table[bk] = win
        uses[bk] = row[ak.A_STEPS]
    score = min(1.0, -math.log10(max(p, 1e-300)) / 10.0)
    if row[ak.A_STEPS] < cfg[ak.C_WARM_UP]:
        score = 0.0
    out = score if score > row[ak.A_SUPPRESS] else 0.0
    row[ak.A_SUPPRESS] = max(row[ak.A_SUPPRESS] * cfg[ak.C_SUPPRESS_DECAY], score)
    return out


def anomaly_step(
    ch: Array, ts: Array, val: Array, qual: Array, no_value_mask: Array, cfg: Array, det: Array, scores: Array
) -> int:
    """The reference of ``anomalykernel.anomaly_step``."""
    bad = [i for i, c in enumerate(ch) if not 0 <= c < det.shape[0]]
    if bad:
        return bad[0]
    for i in range(len(ch)):
        c, t, x = int(ch[i]), float(ts[i]), float(val[i])
        scores[i] = 0.0
        if t < det[c, ak.A_LAST_TS]:
            continue
        det[c, ak.A_LAST_TS] = t
        if int(qual[i]) & int(no_value_mask) or not math.isfinite(x):
            continue
        scores[i] = _score(det[c], x, cfg)
    return -1
