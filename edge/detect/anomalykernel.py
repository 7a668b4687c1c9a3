"""The anomaly score kernel: one streaming detector per channel, state in one float64 row per channel.

See ``edge.detect.anomaly`` for the design and its configuration; this module is only the numba code.
The row layout (``det[c, :]``): scalars at ``A_*``, then the window of the last W (downsampled) values,
K prototype windows, their last-use stamps, and the histogram of past surprises.

How it is made fast (``bench/detect.py``; every step computes exactly what the plain reference does):

- Samples are scored in *batches* of distinct channels (a block of one sample per channel is one batch; a
  channel's second sample starts the next one). Each stage runs over the whole batch before the next, so the
  CPU overlaps the independent work of many channels (the logarithms, divisions and codebook loads) instead
  of waiting on one sample's chain of dependent steps.
- The hot loops index ``det`` directly and call no helper that takes an array per sample: numba counts
  references to an array passed to a function (an atomic increment and decrement, which also stops the
  CPU from overlapping memory work) and passes it as a dozen words on the stack.
- The nearest remembered value is found by *counting* the values below the sample (branch-free, vectorised)
  rather than by a binary search whose branches the CPU cannot predict; both give the same index in a sorted
  codebook. The stalest value is only looked for when the codebook is full.
- ``log10`` of the tail probability is skipped when the score could not beat the decaying memory of recent
  scores (the sample then scores 0 whatever its exact value): ``RARER`` holds, per 1/256 of score, a
  probability above which the score is certainly lower.
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
V0 = A_SCALARS + 1  # with a window of one value the codebook starts here (a constant: loops vectorise)
RESCALE_AT = 1e150

# RARER[k] > 10 ** (-10 k / SKIP_GRID) by a relative 1e-6 (far above the error of log10 and of this
# table): a tail probability p >= RARER[k] scores -log10(p) / 10 < k / SKIP_GRID.
SKIP_GRID = 256
RARER = np.array([10.0 ** (-10.0 * k / SKIP_GRID) * (1.0 + 1e-6) for k in range(SKIP_GRID + 1)])


def row_width(window: int, prototypes: int, bins: int) -> int:
    """Columns of one channel's state row."""
    return A_SCALARS + window + prototypes * window + prototypes + bins


@njit(cache=True)
def anomaly_step(ch, ts, val, qual, no_value_mask, cfg, det, scores):  # type: ignore[no-untyped-def]
    """Score every sample of a block into ``scores`` (0 for unusable and late samples).

    Returns -1, or the index of the first sample whose channel is not a row of ``det`` (then nothing changed).
    One long function on purpose: a numba helper that takes arrays and is not inlined costs a call and
    atomic reference counts each time, and the stages run per batch, which is one sample when a block holds
    one channel (measured: with a helper per stage one channel took 250 ns a sample instead of 107; with
    helpers for the value and the calibration 200 channels x 1 sample took 22 us instead of 18). Rare paths
    (novel values, pattern windows, learning codebooks, rescaling) stay in helpers.
    """
    n = ch.shape[0]
    for i in range(n):
        if ch[i] < 0 or ch[i] >= det.shape[0]:
            return i
    every = cfg[C_DOWNSAMPLE]
    window = int(cfg[C_WINDOW])
    protos = int(cfg[C_PROTOTYPES])
    rate = cfg[C_LEARN_RATE]
    sorted_ = rate == 0.0  # remembered values never move: the codebook stays sorted
    h0 = A_SCALARS + window + protos * window + protos
    bins = int(cfg[C_BINS])
    batch = np.empty(n, dtype=np.int64)  # the samples of the batch that complete a window
    last = np.empty(det.shape[0], dtype=np.int64)  # a channel's latest sample (unset entries hold anything)
    work = np.empty((3, n))  # per batch member: new value, surprise, tail probability
    near = np.empty((2, n), dtype=np.int64)  # per batch member: values below it, nearest prototype
    start = 0
    while start < n:
        # 1. gather samples up to a channel's second one; each usable one updates its range and window
        m = 0
        end = n
        for i in range(start, n):
            c = ch[i]
            j = last[c]
            if start <= j < i and ch[j] == c:
                end = i
                break
            last[c] = i
            scores[i] = 0.0
            t = float(ts[i])
            if t < det[c, A_LAST_TS]:
                continue
            det[c, A_LAST_TS] = t
            if (qual[i] & no_value_mask) != 0 or not math.isfinite(val[i]):
                continue
            x = val[i]
            det[c, A_N] += 1.0
            det[c, A_VMIN] = min(det[c, A_VMIN], x)
            det[c, A_VMAX] = max(det[c, A_VMAX], x)
            # downsample: each bucket gives its most extreme value (furthest from a running average)
            det[c, A_DS_COUNT] += 1.0
            det[c, A_DS_SUM] += x
            det[c, A_DS_MIN] = min(det[c, A_DS_MIN], x)
            det[c, A_DS_MAX] = max(det[c, A_DS_MAX], x)
            if det[c, A_DS_COUNT] < every:
                continue
            mean = det[c, A_DS_SUM] / det[c, A_DS_COUNT]
            avg = mean if det[c, A_STEPS] == 0 else 0.5 * (det[c, A_DS_AVG] + mean)
            det[c, A_DS_AVG] = avg
            hi = det[c, A_DS_MAX]
            lo = det[c, A_DS_MIN]
            det[c, A_DS_COUNT] = 0.0
            det[c, A_DS_SUM] = 0.0
            det[c, A_DS_MIN] = np.inf
            det[c, A_DS_MAX] = -np.inf
            ds = hi if abs(hi - avg) >= abs(lo - avg) else lo
            det[c, A_STEPS] += 1.0
            for k in range(window - 1):
                det[c, A_SCALARS + k] = det[c, A_SCALARS + k + 1]
            det[c, A_SCALARS + window - 1] = ds
            det[c, A_FILLED] = min(det[c, A_FILLED] + 1.0, window)
            if det[c, A_FILLED] < window:
                continue
            batch[m] = i
            work[0, m] = ds
            m += 1
        # 2. surprise: distance to the nearest prototype over the range seen so far
        for j in range(m):
            c = ch[batch[j]]
            x = work[0, j]
            nproto = int(det[c, A_NPROTO])
            below = 0
            if window > 1:
                bk, dist = _nearest_window(det, c, nproto, window)
            else:
                if sorted_:  # branch-free and vectorised: the count of smaller values is the index
                    for k in range(nproto):
                        below += det[c, V0 + k] < x
                else:
                    below = _lower_bound(det, c, nproto, x)
                bk = -1
                dist = np.inf
                if below < nproto:
                    bk = below
                    dist = det[c, V0 + below] - x
                if below > 0 and x - det[c, V0 + below - 1] <= dist:
                    bk = below - 1
                    dist = x - det[c, V0 + below - 1]
            scale = max(det[c, A_VMAX] - det[c, A_VMIN], 1e-300)
            work[1, j] = 1.0 if bk < 0 else dist / scale
            near[0, j] = below
            near[1, j] = bk
        # 3. calibration: how rare each surprise is among the channel's past ones
        for j in range(m):  # independent logarithms first: the CPU overlaps them
            work[2, j] = math.log(work[1, j] + cfg[C_EPS])
        for j in range(m):
            c = ch[batch[j]]
            level = work[2, j]
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
                total, w = _rescale(det, c, h0, bins, total, w)
            det[c, A_HIST_TOTAL] = total
            det[c, A_HIST_WEIGHT] = w
            det[c, A_LOG_MAX] = max(det[c, A_LOG_MAX], level)
            work[2, j] = p
        # 4. learning, and the score against the memory of recent scores
        for j in range(m):
            i = batch[j]
            c = ch[i]
            bk = near[1, j]
            steps = det[c, A_STEPS]
            if bk >= 0 and not work[1, j] > cfg[C_VIGILANCE]:
                for k in range(window):
                    q = A_SCALARS + window + bk * window + k
                    det[c, q] += rate * (det[c, A_SCALARS + k] - det[c, q])
                det[c, h0 - protos + bk] = steps
            else:
                _learn_novel(det, c, cfg, near[0, j], work[0, j], steps)
            scores[i] = _suppressed_score(det, c, work[2, j], cfg)
        start = end
    return -1


@njit(cache=True)
def _lower_bound(det, c, nproto, x):  # type: ignore[no-untyped-def]
    """Index of the first remembered value not below ``x`` (binary search)."""
    lo, hi = 0, nproto
    while lo < hi:
        mid = (lo + hi) // 2
        if det[c, V0 + mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _nearest_window(det, c, nproto, window):  # type: ignore[no-untyped-def]
    """(index, largest absolute difference) of the prototype window nearest to the current one."""
    w0 = A_SCALARS
    p0 = w0 + window
    best = np.inf
    bk = -1
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
def _rescale(det, c, h0, bins, total, w):  # type: ignore[no-untyped-def]
    """Divide the histogram and its total by their grown weight; returns (total, weight 1)."""
    for k in range(bins):
        det[c, h0 + k] /= w
    return total / w, 1.0


@njit(cache=True)
def _learn_novel(det, c, cfg, below, x, steps):  # type: ignore[no-untyped-def]
    """Store the window as a new prototype, or in place of the stalest one when the codebook is full."""
    window = int(cfg[C_WINDOW])
    protos = int(cfg[C_PROTOTYPES])
    p0 = A_SCALARS + window
    u0 = p0 + protos * window
    if window == 1:
        _insert_value(det, c, u0, protos, below, cfg[C_LEARN_RATE] == 0.0, x, steps)
        return
    nproto = int(det[c, A_NPROTO])
    if nproto < protos:
        bk = nproto
        det[c, A_NPROTO] = nproto + 1
    else:
        bk = _stalest(det, c, u0, nproto)
    for k in range(window):
        det[c, p0 + bk * window + k] = det[c, A_SCALARS + k]
    det[c, u0 + bk] = steps


@njit(cache=True)
def _stalest(det, c, u0, n):  # type: ignore[no-untyped-def]
    """The first of the least recently matched prototypes."""
    s = 0
    oldest = det[c, u0]
    for k in range(1, n):
        if det[c, u0 + k] < oldest:
            oldest = det[c, u0 + k]
            s = k
    return s


@njit(cache=True)
def _insert_value(det, c, u0, capacity, below, sorted_, x, steps):  # type: ignore[no-untyped-def]
    """Insert value ``x`` into the sorted codebook (``below`` values lie below it); when full, the stalest
    value makes room."""
    n = int(det[c, A_NPROTO])
    if n >= capacity:
        stalest = _stalest(det, c, u0, n)
        for k in range(stalest, n - 1):
            det[c, V0 + k] = det[c, V0 + k + 1]
            det[c, u0 + k] = det[c, u0 + k + 1]
        n -= 1
        if stalest < below:
            below -= 1
    pos = 0
    if sorted_:
        pos = below
    else:  # learning may have moved values: find the place as the reference does
        while pos < n and det[c, V0 + pos] < x:
            pos += 1
    for k in range(n, pos, -1):
        det[c, V0 + k] = det[c, V0 + k - 1]
        det[c, u0 + k] = det[c, u0 + k - 1]
    det[c, V0 + pos] = x
    det[c, u0 + pos] = steps
    det[c, A_NPROTO] = n + 1


@njit(cache=True)
def _suppressed_score(det, c, p, cfg):  # type: ignore[no-untyped-def]
    """Score = -log10(p) / 10 in [0, 1], reported only when it beats the decaying memory of recent scores."""
    memory = det[c, A_SUPPRESS]
    faded = memory * cfg[C_SUPPRESS_DECAY]
    bar = min(memory, faded)
    if 0.0 <= bar <= 1.0 and p >= RARER[int(bar * SKIP_GRID)]:  # scores below the bar: 0, memory fades
        det[c, A_SUPPRESS] = faded
        return 0.0
    score = min(1.0, -math.log10(max(p, 1e-300)) / 10.0)
    if det[c, A_STEPS] < cfg[C_WARM_UP]:
        score = 0.0
    det[c, A_SUPPRESS] = max(faded, score)
    return score if score > memory else 0.0
