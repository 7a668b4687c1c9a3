"""The anomaly score kernel: one streaming detector per channel, state in one float64 row per channel.

See ``edge.detect.anomaly`` for the design and its configuration; this module is only the numba code.
The row layout (``det[c, :]``): scalars at ``A_*``, then the window of the last W (downsampled) values,
K prototype windows, their last-use stamps, and the histogram of past surprises.
"""

# numba kernels take their arrays and scalars positionally, and name arrays as the layout does.
# ruff: noqa: PLR0917
from __future__ import annotations

import math

import numpy as np
from numba import njit

# configuration vector (cfg) entries
C_DOWNSAMPLE = 0
C_WINDOW = 1
C_PROTOTYPES = 2
C_VIGILANCE = 3
C_LEARN_RATE = 4
C_WARM_UP = 5
C_HIST_FADE = 6
C_SUPPRESS_DECAY = 7
C_EPS = 8
C_TAIL = 9
C_BIN_WIDTH = 10
C_LOG_MIN = 11
C_BINS = 12
C_WIDTH = 13

# state row scalars
A_N = 0
A_LAST_TS = 1
A_VMIN = 2
A_VMAX = 3
A_DS_COUNT = 4
A_DS_SUM = 5
A_DS_MIN = 6
A_DS_MAX = 7
A_DS_AVG = 8
A_STEPS = 9  # downsampled steps seen
A_HIST_TOTAL = 10
A_LOG_MAX = 11
A_SUPPRESS = 12
A_NPROTO = 13
A_FILLED = 14
A_HIST_WEIGHT = 15  # histogram counts are stored times this growing weight, so fading costs O(1)
A_SCALARS = 16
RESCALE_AT = 1e150


def row_width(window: int, prototypes: int, bins: int) -> int:
    """Columns of one channel's state row."""
    return A_SCALARS + window + prototypes * window + prototypes + bins


@njit(cache=True)
def _downsample(det, c, x, every):  # type: ignore[no-untyped-def]
    """Accumulate ``x``; every ``every`` samples return the bucket's most extreme value, else NaN."""
    det[c, A_DS_COUNT] += 1.0
    det[c, A_DS_SUM] += x
    det[c, A_DS_MIN] = min(det[c, A_DS_MIN], x)
    det[c, A_DS_MAX] = max(det[c, A_DS_MAX], x)
    if det[c, A_DS_COUNT] < every:
        return np.nan
    mean = det[c, A_DS_SUM] / det[c, A_DS_COUNT]
    avg = mean if det[c, A_STEPS] == 0 else 0.5 * (det[c, A_DS_AVG] + mean)
    det[c, A_DS_AVG] = avg
    hi = det[c, A_DS_MAX]
    lo = det[c, A_DS_MIN]
    det[c, A_DS_COUNT] = 0.0
    det[c, A_DS_SUM] = 0.0
    det[c, A_DS_MIN] = np.inf
    det[c, A_DS_MAX] = -np.inf
    return hi if abs(hi - avg) >= abs(lo - avg) else lo


@njit(cache=True)
def _nearest(det, c, w0, p0, nproto, window):  # type: ignore[no-untyped-def]
    """(index, largest absolute difference) of the prototype nearest to the window; (-1, inf) if none."""
    best = np.inf
    bk = -1
    if window == 1:  # values are kept sorted: binary search, then the neighbour on each side
        x = det[c, w0]
        lo, hi = 0, nproto
        while lo < hi:
            mid = (lo + hi) // 2
            if det[c, p0 + mid] < x:
                lo = mid + 1
            else:
                hi = mid
        if lo < nproto:
            best = det[c, p0 + lo] - x
            bk = lo
        if lo > 0 and x - det[c, p0 + lo - 1] <= best:
            best = x - det[c, p0 + lo - 1]
            bk = lo - 1
        return bk, best
    for k in range(nproto):
        base = p0 + k * window
        d = 0.0
        for j in range(window):
            d = max(d, abs(det[c, w0 + j] - det[c, base + j]))
            if d >= best:
                break
        if d < best:
            best = d
            bk = k
    return bk, best


@njit(cache=True)
def _learn(det, c, w0, p0, u0, bk, novel, cfg, window, nproto):  # type: ignore[no-untyped-def]
    """Move the nearest prototype toward the window, or store the window as a new (or the stalest) one."""
    steps = det[c, A_STEPS]
    if not novel:
        rate = cfg[C_LEARN_RATE]
        for j in range(window):
            det[c, p0 + bk * window + j] += rate * (det[c, w0 + j] - det[c, p0 + bk * window + j])
        det[c, u0 + bk] = steps
        return
    stalest = 0
    for k in range(1, nproto):
        if det[c, u0 + k] < det[c, u0 + stalest]:
            stalest = k
    if window == 1:
        _insert_sorted(det, c, p0, u0, nproto, stalest, int(cfg[C_PROTOTYPES]), det[c, w0], steps)
        return
    if nproto < int(cfg[C_PROTOTYPES]):
        bk = nproto
        det[c, A_NPROTO] = nproto + 1
    else:
        bk = stalest
    for j in range(window):
        det[c, p0 + bk * window + j] = det[c, w0 + j]
    det[c, u0 + bk] = steps


@njit(cache=True)
def _insert_sorted(det, c, p0, u0, nproto, stalest, capacity, x, steps):  # type: ignore[no-untyped-def]
    """Insert value ``x`` into the sorted codebook; when full, the stalest value makes room."""
    n = nproto
    if n >= capacity:
        for k in range(stalest, n - 1):
            det[c, p0 + k] = det[c, p0 + k + 1]
            det[c, u0 + k] = det[c, u0 + k + 1]
        n -= 1
    pos = 0
    while pos < n and det[c, p0 + pos] < x:
        pos += 1
    for k in range(n, pos, -1):
        det[c, p0 + k] = det[c, p0 + k - 1]
        det[c, u0 + k] = det[c, u0 + k - 1]
    det[c, p0 + pos] = x
    det[c, u0 + pos] = steps
    det[c, A_NPROTO] = n + 1


@njit(cache=True)
def _tail_probability(det, c, h0, level, cfg):  # type: ignore[no-untyped-def]
    """How rare a log-surprise ``level`` is among this channel's past ones (then counts it in).

    The histogram fades by ``C_HIST_FADE`` per step. Instead of multiplying every bin each step, counts are
    added with a weight that grows by 1 / fade per step (and everything is rescaled once it gets large).
    """
    bins = int(cfg[C_BINS])
    b = int((level - cfg[C_LOG_MIN]) / cfg[C_BIN_WIDTH])
    b = min(max(b, 0), bins - 1)
    total = det[c, A_HIST_TOTAL]
    w = det[c, A_HIST_WEIGHT]
    if level > det[c, A_LOG_MAX]:
        p = 0.5 * w / (total + w) * math.exp(-(level - det[c, A_LOG_MAX]) / cfg[C_TAIL])
    else:
        above = 0.0
        if b < bins // 2:  # sum the shorter side: most samples fall in the low bins
            for k in range(b):
                above += det[c, h0 + k]
            above = max(total - above, 0.0)
        else:
            for k in range(b, bins):
                above += det[c, h0 + k]
        p = (above + 0.5 * w) / (total + w)
    w /= cfg[C_HIST_FADE]
    det[c, h0 + b] += w
    total += w
    if w > RESCALE_AT:
        for k in range(bins):
            det[c, h0 + k] /= w
        total /= w
        w = 1.0
    det[c, A_HIST_TOTAL] = total
    det[c, A_HIST_WEIGHT] = w
    det[c, A_LOG_MAX] = max(det[c, A_LOG_MAX], level)
    return p


@njit(cache=True)
def _score_sample(det, c, x, cfg):  # type: ignore[no-untyped-def]
    window = int(cfg[C_WINDOW])
    protos = int(cfg[C_PROTOTYPES])
    w0 = A_SCALARS
    p0 = w0 + window
    u0 = p0 + protos * window
    h0 = u0 + protos
    det[c, A_N] += 1.0
    det[c, A_VMIN] = min(det[c, A_VMIN], x)
    det[c, A_VMAX] = max(det[c, A_VMAX], x)
    ds = _downsample(det, c, x, cfg[C_DOWNSAMPLE])
    if math.isnan(ds):
        return 0.0
    det[c, A_STEPS] += 1.0
    for j in range(window - 1):
        det[c, w0 + j] = det[c, w0 + j + 1]
    det[c, w0 + window - 1] = ds
    det[c, A_FILLED] = min(det[c, A_FILLED] + 1.0, window)
    if det[c, A_FILLED] < window:
        return 0.0
    scale = max(det[c, A_VMAX] - det[c, A_VMIN], 1e-300)
    nproto = int(det[c, A_NPROTO])
    bk, dist = _nearest(det, c, w0, p0, nproto, window)
    surprise = 1.0 if bk < 0 else dist / scale
    p = _tail_probability(det, c, h0, math.log(surprise + cfg[C_EPS]), cfg)
    _learn(det, c, w0, p0, u0, bk, bk < 0 or surprise > cfg[C_VIGILANCE], cfg, window, nproto)
    score = min(1.0, -math.log10(max(p, 1e-300)) / 10.0)
    if det[c, A_STEPS] < cfg[C_WARM_UP]:
        score = 0.0
    out = score if score > det[c, A_SUPPRESS] else 0.0
    det[c, A_SUPPRESS] = max(det[c, A_SUPPRESS] * cfg[C_SUPPRESS_DECAY], score)
    return out


@njit(cache=True)
def anomaly_step(ch, ts, val, qual, no_value_mask, cfg, det, scores):  # type: ignore[no-untyped-def]
    """Score every sample of a block into ``scores`` (0 for unusable and late samples).

    Returns -1, or the index of the first sample whose channel is not a row of ``det`` (then nothing changed).
    """
    for i in range(ch.shape[0]):
        if ch[i] < 0 or ch[i] >= det.shape[0]:
            return i
    for i in range(ch.shape[0]):
        c = ch[i]
        t = float(ts[i])
        x = val[i]
        scores[i] = 0.0
        if t < det[c, A_LAST_TS]:
            continue
        det[c, A_LAST_TS] = t
        if (qual[i] & no_value_mask) != 0 or not math.isfinite(x):
            continue
        scores[i] = _score_sample(det, c, x, cfg)
    return -1
