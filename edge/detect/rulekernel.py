"""The rule kernel: every warning rule of every channel, sample by sample, in one numba pass.

One call of ``rules_step`` walks a block of samples (any mix of channels, in time order per channel) and, for
each sample, every rule of its channel (``chan_ptr``/``chan_rules``, CSR). Each rule kind computes a *target
level* from the sample; ``_settle`` applies the on/off delays and commits level changes as events into
preallocated arrays. Rules are rows of tables:

- ``rule_info`` int64 [rules, RI_WIDTH]: kind, channel, ring-buffer offsets and capacities;
- ``params`` float64 [rules, P_WIDTH]: thresholds and settings (NaN = not given), times in milliseconds;
- ``state`` float64 [rules, S_WIDTH]: level, pending delay and per-kind fields, saved across restarts;
- ``ring`` float64 [total, 2]: (ts_ms, value) ring buffers of the rate and slope rules;
- ``chan_state`` float64 [channels, CH_WIDTH]: each channel's last timestamp and its count of late samples.

Everything a kernel and its helpers need is in this one module: numba's cache only notices edits to the
file that defines the cached function, so helpers in another file could be served stale. The column layout
below is the contract with ``edge.detect.tables`` (which fills the tables) and ``edge.detect.reference``
(the plain-Python twin the tests compare against).

Over 400 lines because numba compiles the rule kinds and the pass over them (``rules_step``) as one
unit, and the table layout they share is defined here once.
"""

# numba kernels take their arrays and scalars positionally, and name arrays as the layout does.
# ruff: noqa: PLR0917
from __future__ import annotations

import math

import numpy as np
from numba import njit

# rule kinds
K_LEVEL, K_RATE, K_FLATLINE, K_FAULT, K_ANOMALY, K_SLOPE = 0, 1, 2, 3, 4, 5

# rule_info columns
RI_KIND, RI_CHAN, RI_OFF_A, RI_CAP_A, RI_OFF_B, RI_CAP_B = 0, 1, 2, 3, 4, 5
RI_WIDTH = 6

# params columns: P_T..P_T+3 are the thresholds of levels 1-4 (blue..red); slope angles at P_ANGLE..P_ANGLE+3
P_T = 0
P_SIGN = 4  # +1 above / rising, -1 below / falling, 0 either (rates: magnitude)
P_HYST = 5
P_ON_MS = 6
P_OFF_MS = 7
P_WINDOW_MS = 8  # rate window, flatline window, slope velocity window
P_PER_MS = 9  # time base of rates and velocities
P_MIN_SAMPLES = 10
P_TOL = 11
P_AFTER_MS = 12
P_FIXED_LEVEL = 13  # flatline and fault warn at one level
P_RANGE_LO = 14
P_RANGE_HI = 15
P_ANGLE = 16
P_VREF = 20  # slope reference velocity, per P_PER_MS; NaN = learn it
P_LEARN_MS = 21
P_FORECAST_MS = 22
P_MIN_R2 = 23
P_WIDTH = 24

# state columns
S_LEVEL = 0
S_PEND_DIR = 1  # 0 nothing pending, +1 waiting to escalate, -1 waiting to de-escalate
S_PEND_SINCE = 2
S_CHANGED_TS = 3
S_CHANGED_VALUE = 4
S_VALUE = 5  # the last measured quantity (value, rate, score, velocity)
S_A = 6  # per kind: flatline run start / fault bad since / ring A head
S_B = 7  # flatline run min / ring A count
S_C = 8  # flatline run max / ring A last stored ts
S_D = 9  # ring B head
S_E = 10  # ring B count
S_F = 11  # ring B last stored ts
S_LEARN_TS = 12
S_LEARN_X = 13
S_VREF = 14  # learned reference velocity
S_ANGLE = 15
S_FC_TS = 16  # forecast failure time (ms), NaN when no stable fit
S_FC_R2 = 17
S_FC_POINTS = 18
S_WIDTH = 19

CH_LAST_TS, CH_LATE = 0, 1
CH_WIDTH = 2

# event columns: ev_int (sample, rule, level, previous level), ev_float (value, forecast ts, r2, points)
EV_SAMPLE, EV_RULE, EV_LEVEL, EV_PREVIOUS = 0, 1, 2, 3
EV_VALUE, EV_FC_TS, EV_FC_R2, EV_FC_POINTS = 0, 1, 2, 3

RING_STORE_DIVISOR = 16  # a ring keeps at most one point per window / 16
FORECAST_MIN_POINTS = 5


@njit(cache=True)
def level_target(x, params, r, t0, level, sign, hyst):  # type: ignore[no-untyped-def]
    """The level ``x`` calls for: the highest level entered, or a lower one still held by hysteresis.

    A level is entered when ``x >= threshold`` (below: ``x <= threshold``) and, once reached, kept while
    ``x >= threshold - hyst`` (below: ``x <= threshold + hyst``). Thresholds are ``params[r, t0:t0+4]``,
    NaN when the level is not used (a NaN threshold compares false, so it neither enters nor keeps).

    The work is done on scalars (``_target_of``): a helper that loops over an array row is not inlined
    by LLVM and costs a call per rule and sample.
    """
    return _target_of(
        x, params[r, t0], params[r, t0 + 1], params[r, t0 + 2], params[r, t0 + 3], level, sign, hyst
    )


@njit(cache=True)
def _target_of(x, t1, t2, t3, t4, level, sign, hyst):  # type: ignore[no-untyped-def]
    if not sign >= 0:  # below mirrors above exactly: x <= t <=> -x >= -t, and -(t + h) == -t - h
        x, t1, t2, t3, t4 = -x, -t1, -t2, -t3, -t4
    up, hold = _enter_keep(x, t1, 1, level, hyst, 0, 0)
    up, hold = _enter_keep(x, t2, 2, level, hyst, up, hold)
    up, hold = _enter_keep(x, t3, 3, level, hyst, up, hold)
    up, hold = _enter_keep(x, t4, 4, level, hyst, up, hold)
    return max(up, hold)


@njit(cache=True)
def _enter_keep(x, t, lvl, level, hyst, up, hold):  # type: ignore[no-untyped-def]
    if x >= t:
        up = lvl
    if x >= t - hyst and lvl <= level:
        hold = lvl
    return up, hold


@njit(cache=True)
def _settle(r, i, ts, target, value, params, state, ev_int, ev_float, n_ev):  # type: ignore[no-untyped-def]
    """Move rule ``r`` toward ``target`` once the on (escalate) or off (de-escalate) delay has passed."""
    level = state[r, S_LEVEL]
    if target == level:
        state[r, S_PEND_DIR] = 0.0
        return n_ev
    d = 1.0 if target > level else -1.0
    if state[r, S_PEND_DIR] != d:
        state[r, S_PEND_DIR] = d
        state[r, S_PEND_SINCE] = ts
    delay = params[r, P_ON_MS] if d > 0 else params[r, P_OFF_MS]
    if ts - state[r, S_PEND_SINCE] < delay:
        return n_ev
    ev_int[n_ev, EV_SAMPLE] = i
    ev_int[n_ev, EV_RULE] = r
    ev_int[n_ev, EV_LEVEL] = int(target)
    ev_int[n_ev, EV_PREVIOUS] = int(level)
    ev_float[n_ev, EV_VALUE] = value
    ev_float[n_ev, EV_FC_TS] = np.nan
    ev_float[n_ev, EV_FC_R2] = np.nan
    ev_float[n_ev, EV_FC_POINTS] = 0.0
    state[r, S_LEVEL] = target
    state[r, S_PEND_DIR] = 0.0
    state[r, S_CHANGED_TS] = ts
    state[r, S_CHANGED_VALUE] = value
    return n_ev + 1


@njit(cache=True)
def _wrap(i, cap):  # type: ignore[no-untyped-def]
    """``i % cap`` for 0 <= i < 2 cap, without a division (ring heads and counts never leave that range)."""
    return i - cap if i >= cap else i


@njit(cache=True)
def _ring_trim(ring, off, cap, head, cnt, oldest_ts):  # type: ignore[no-untyped-def]
    """Drop ring points older than ``oldest_ts``; returns the new (head, count).

    A ring is ``ring[off:off+cap]`` of (ts, value) rows. Its cursor (head, count, ts of the last kept point)
    lives in the rule's state row; the callers read it and write it back, and these helpers take it as
    scalars: a numba function that takes an array and is not inlined costs an atomic reference count
    increment and decrement per array and call, which dominated the rate rule.
    """
    while cnt > 0 and ring[off + head, 0] < oldest_ts:
        head = _wrap(head + 1, cap)
        cnt -= 1
    return head, cnt


@njit(cache=True)
def _ring_store(ring, off, cap, head, cnt, kept_ts, ts, x, spacing):  # type: ignore[no-untyped-def]
    """Keep (ts, x) if ``spacing`` ms passed since the last kept point; returns (head, count, kept ts)."""
    if cnt > 0 and ts - kept_ts < spacing:
        return head, cnt, kept_ts
    slot = _wrap(head + cnt, cap)
    ring[off + slot, 0] = ts
    ring[off + slot, 1] = x
    if cnt == cap:
        head = _wrap(head + 1, cap)
    else:
        cnt += 1
    return head, cnt, ts


@njit(cache=True)
def _windowed_rate(ring, off, cap, head, cnt, kept_ts, ts, x, window, min_samples):  # type: ignore[no-untyped-def]
    """Change per ms from the oldest kept point in the window to now; NaN without enough data.

    Needs ``min_samples`` points (kept ones plus this one) spanning at least half the window, so a gap does
    not turn a few seconds of noise into a rate. Returns (rate, ts of the oldest point, and the ring's new
    head, count and kept ts).
    """
    head, cnt = _ring_trim(ring, off, cap, head, cnt, ts - window)
    rate = np.nan
    t0 = np.nan
    if cnt >= 1 and cnt + 1 >= min_samples:
        t0 = ring[off + head, 0]
        span = ts - t0
        if span > 0 and span >= 0.5 * window:
            rate = (x - ring[off + head, 1]) / span
    head, cnt, kept_ts = _ring_store(ring, off, cap, head, cnt, kept_ts, ts, x, window / RING_STORE_DIVISOR)
    return rate, t0, head, cnt, kept_ts


@njit(cache=True)
def _signed(rate, sign):  # type: ignore[no-untyped-def]
    """A rate as its rule compares it: signed for rising (+1) and falling (-1), magnitude for either (0)."""
    return abs(rate) if sign == 0 else rate * sign


@njit(cache=True)
def _flatline(r, ts, x, params, state):  # type: ignore[no-untyped-def]
    """1 when the current run of values within ``tolerance`` has lasted ``window``; the run restarts at the
    sample that breaks it."""
    lo = min(state[r, S_B], x)
    hi = max(state[r, S_C], x)
    if state[r, S_A] != state[r, S_A] or hi - lo > params[r, P_TOL]:
        state[r, S_A] = ts
        lo = x
        hi = x
    state[r, S_B] = lo
    state[r, S_C] = hi
    return 1 if ts - state[r, S_A] >= params[r, P_WINDOW_MS] else 0


@njit(cache=True)
def _fault(r, ts, x, usable, quality, out_of_range_flag, params, state):  # type: ignore[no-untyped-def]
    """1 when no usable, in-range value has arrived for ``after``."""
    bad = (
        not usable
        or (quality & out_of_range_flag) != 0
        or x < params[r, P_RANGE_LO]
        or x > params[r, P_RANGE_HI]
    )
    if not bad:
        state[r, S_A] = np.nan
        return 0
    if state[r, S_A] != state[r, S_A]:
        state[r, S_A] = ts
    return 1 if ts - state[r, S_A] >= params[r, P_AFTER_MS] else 0


@njit(cache=True)
def _inverse_velocity_fit(ring, off, cap, head, cnt):  # type: ignore[no-untyped-def]
    """Least squares 1/v = a + b t over the kept points: (failure ts, r2), NaN unless 1/v falls."""
    if cnt < FORECAST_MIN_POINTS:
        return np.nan, np.nan
    t_ref = ring[off + _wrap(head + cnt - 1, cap), 0]
    st = 0.0
    sy = 0.0
    j = head
    for _ in range(cnt):
        st += ring[off + j, 0] - t_ref
        sy += ring[off + j, 1]
        j = _wrap(j + 1, cap)
    mt = st / cnt
    my = sy / cnt
    stt = 0.0
    sty = 0.0
    syy = 0.0
    j = head
    for _ in range(cnt):
        dt = ring[off + j, 0] - t_ref - mt
        dy = ring[off + j, 1] - my
        j = _wrap(j + 1, cap)
        stt += dt * dt
        sty += dt * dy
        syy += dy * dy
    if stt <= 0.0 or syy <= 0.0:
        return np.nan, np.nan
    b = sty / stt
    if b >= 0.0:
        return np.nan, np.nan
    r2 = sty * sty / (stt * syy)
    a = my - b * mt
    return t_ref - a / b, r2


@njit(cache=True)
def _slope(r, ts, x, params, state, rule_info, ring):  # type: ignore[no-untyped-def]
    """Velocity (per ``per``), tangent angle and inverse-velocity forecast; returns (target, velocity)."""
    per = params[r, P_PER_MS]
    window = params[r, P_WINDOW_MS]
    rate, t0, head, cnt, kept_ts = _windowed_rate(
        ring, rule_info[r, RI_OFF_A], rule_info[r, RI_CAP_A], int(state[r, S_A]), int(state[r, S_B]),
        state[r, S_C], ts, x, window, 2.0,
    )  # fmt: skip
    state[r, S_A] = head
    state[r, S_B] = cnt
    state[r, S_C] = kept_ts
    if state[r, S_LEARN_TS] != state[r, S_LEARN_TS]:
        state[r, S_LEARN_TS] = ts
        state[r, S_LEARN_X] = x
    elif state[r, S_VREF] != state[r, S_VREF] and ts - state[r, S_LEARN_TS] >= params[r, P_LEARN_MS]:
        learned = abs(x - state[r, S_LEARN_X]) / (ts - state[r, S_LEARN_TS]) * per
        state[r, S_VREF] = max(learned, 1e-12)
    if math.isnan(rate):
        return -1, np.nan
    v = abs(rate) * per
    vref = params[r, P_VREF] if params[r, P_VREF] == params[r, P_VREF] else state[r, S_VREF]
    angle = math.degrees(math.atan(v / vref)) if not math.isnan(vref) else np.nan
    state[r, S_ANGLE] = angle
    off_b = rule_info[r, RI_OFF_B]
    cap_b = rule_info[r, RI_CAP_B]
    fc_window = params[r, P_FORECAST_MS]
    head, cnt = _ring_trim(ring, off_b, cap_b, int(state[r, S_D]), int(state[r, S_E]), ts - fc_window)
    kept_ts = state[r, S_F]
    if v > 0.0:
        # 1/v in ms per unit of displacement, placed at the middle of the span it was measured over
        head, cnt, kept_ts = _ring_store(
            ring, off_b, cap_b, head, cnt, kept_ts, 0.5 * (ts + t0), 1.0 / abs(rate), fc_window / (cap_b - 2)
        )
    state[r, S_D] = head
    state[r, S_E] = cnt
    state[r, S_F] = kept_ts
    fc_ts, r2 = _inverse_velocity_fit(ring, off_b, cap_b, head, cnt)
    if not math.isnan(fc_ts) and r2 >= params[r, P_MIN_R2]:
        state[r, S_FC_TS] = fc_ts
        state[r, S_FC_R2] = r2
        state[r, S_FC_POINTS] = cnt
    else:
        state[r, S_FC_TS] = np.nan
        state[r, S_FC_R2] = np.nan
        state[r, S_FC_POINTS] = 0.0
    level = state[r, S_LEVEL]
    target = level_target(v, params, r, P_T, level, 1.0, 0.0)
    if not math.isnan(angle):
        target = max(target, level_target(angle, params, r, P_ANGLE, level, 1.0, 0.0))
    return target, v


@njit(cache=True)
def rules_step(  # type: ignore[no-untyped-def]
    ch, ts, val, qual, scores, no_value_mask, out_of_range_flag,
    chan_ptr, chan_rules, rule_info, params, state, ring, chan_state, ev_int, ev_float,
):  # fmt: skip
    """Run every rule of every sample's channel; returns the number of events written to ev_int/ev_float.

    ``ch`` int32[n], ``ts`` int64[n] (ms), ``val`` float64[n], ``qual`` uint32[n], ``scores`` float64[n] (the
    anomaly score of each sample). A sample older than its channel's last one is skipped and counted in
    ``chan_state[:, CH_LATE]``. ev_int and ev_float need room for one event per (sample, rule).
    """
    n_ev = 0
    for i in range(ch.shape[0]):
        c = ch[i]
        t = float(ts[i])
        if t < chan_state[c, CH_LAST_TS]:
            chan_state[c, CH_LATE] += 1.0
            continue
        chan_state[c, CH_LAST_TS] = t
        x = val[i]
        q = qual[i]
        usable = (q & no_value_mask) == 0 and math.isfinite(x)
        for k in range(chan_ptr[c], chan_ptr[c + 1]):
            r = chan_rules[k]
            kind = rule_info[r, RI_KIND]
            if kind == K_FAULT:
                hit = _fault(r, t, x, usable, q, out_of_range_flag, params, state)
                state[r, S_VALUE] = x
                n_ev = _settle(
                    r, i, t, hit * params[r, P_FIXED_LEVEL], x, params, state, ev_int, ev_float, n_ev
                )
                continue
            if not usable:
                continue
            level = state[r, S_LEVEL]
            if kind == K_LEVEL:
                target = float(level_target(x, params, r, P_T, level, params[r, P_SIGN], params[r, P_HYST]))
                measured = x
            elif kind == K_RATE:  # inline: a helper taking state and params would cost a call and refcounts
                rate, _, head, cnt, kept_ts = _windowed_rate(
                    ring, rule_info[r, RI_OFF_A], rule_info[r, RI_CAP_A], int(state[r, S_A]),
                    int(state[r, S_B]), state[r, S_C], t, x, params[r, P_WINDOW_MS], params[r, P_MIN_SAMPLES],
                )  # fmt: skip
                state[r, S_A] = head
                state[r, S_B] = cnt
                state[r, S_C] = kept_ts
                measured = _signed(rate * params[r, P_PER_MS], params[r, P_SIGN])
                if math.isnan(measured):
                    continue
                target = float(level_target(measured, params, r, P_T, level, 1.0, params[r, P_HYST]))
            elif kind == K_FLATLINE:
                target = float(_flatline(r, t, x, params, state) * params[r, P_FIXED_LEVEL])
                measured = x
            elif kind == K_ANOMALY:
                measured = scores[i]
                target = float(level_target(measured, params, r, P_T, level, 1.0, 0.0))
            else:
                slope_target, measured = _slope(r, t, x, params, state, rule_info, ring)
                if slope_target < 0:
                    continue
                target = float(slope_target)
            state[r, S_VALUE] = measured
            before = n_ev
            n_ev = _settle(r, i, t, target, measured, params, state, ev_int, ev_float, n_ev)
            if kind == K_SLOPE and n_ev > before:
                ev_float[before, EV_FC_TS] = state[r, S_FC_TS]
                ev_float[before, EV_FC_R2] = state[r, S_FC_R2]
                ev_float[before, EV_FC_POINTS] = state[r, S_FC_POINTS]
    return n_ev
