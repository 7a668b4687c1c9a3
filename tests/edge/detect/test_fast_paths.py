"""The kernels' shortcuts change nothing: batches of distinct channels, the skipped log10, the event text."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.detect import DEFAULT_ANOMALY, AnomalyConfig, DetectorBank, reference
from edge.detect import anomalykernel as ak
from edge.detect.bank import NO_VALUE_MASK
from edge.detect.messages import describe
from protocols.quality import Quality
from protocols.records import Forecast
from protocols.rules import AnomalyRule, FaultRule, FlatlineRule, LevelRule, Levels, RateRule, SlopeRule
from tests.edge.detect.helpers import block, channel, level, run

SMALL = AnomalyConfig(prototypes=4, warm_up=5)  # full at once: inserting replaces the stalest value
LEARNING = AnomalyConfig(prototypes=8, learn_rate=0.3, vigilance=0.05, warm_up=5)  # values move: no count


def score_block(anomaly: AnomalyConfig, ch, ts, val, qual, det=None):
    det = anomaly.initial_state(4) if det is None else det
    scores = np.full(len(ch), -1.0)
    ak.anomaly_step(
        np.asarray(ch, np.int32), np.asarray(ts, np.int64), np.asarray(val, np.float64),
        np.asarray(qual, np.uint32), NO_VALUE_MASK, anomaly.vector(), det, scores,
    )  # fmt: skip
    return scores, det


@settings(max_examples=40, deadline=None)
@given(
    channels=st.lists(st.integers(0, 3), min_size=1, max_size=400),
    seed=st.integers(0, 2**32 - 1),
    anomaly=st.sampled_from([DEFAULT_ANOMALY, SMALL, LEARNING]),
)
def test_a_block_scores_as_its_samples_one_by_one(channels, seed, anomaly) -> None:
    """Batches of distinct channels, cut wherever a channel repeats, give the bits of one-sample calls."""
    rng = np.random.default_rng(seed)
    n = len(channels)
    ts = np.cumsum(rng.integers(0, 3, n)) * 1000 - rng.integers(0, 2, n) * 1500  # some late samples
    val = np.where(rng.random(n) < 0.5, np.round(rng.normal(0, 5, n), 1), np.cumsum(rng.normal(0, 1, n)))
    qual = np.where(rng.random(n) < 0.05, int(Quality.COMM_ERROR), 0)
    val = np.where(rng.random(n) < 0.03, np.nan, val)
    whole, det_whole = score_block(anomaly, channels, ts, val, qual)
    det = anomaly.initial_state(4)
    one_by_one = np.concatenate(
        [score_block(anomaly, channels[i : i + 1], ts[i : i + 1], val[i : i + 1], qual[i : i + 1], det)[0]
         for i in range(n)]
    )  # fmt: skip
    np.testing.assert_array_equal(whole, one_by_one)
    np.testing.assert_array_equal(det_whole, det)


def test_the_log10_shortcut_only_skips_scores_below_the_bar() -> None:
    """p >= RARER[k] must give -log10(p) / 10 < k / SKIP_GRID, whatever the rounding of log10."""
    for k, bound in enumerate(ak.RARER):
        for p in (bound, np.nextafter(bound, 2.0), bound * (1 + 1e-9), min(bound * 1.01, 1.0)):
            if p >= bound:
                assert -math.log10(max(p, 1e-300)) / 10.0 < k / ak.SKIP_GRID, (k, p)
    rng = np.random.default_rng(3)
    for bar in rng.random(20_000):
        bound = ak.RARER[int(bar * ak.SKIP_GRID)]
        p = bound * (1 + rng.random() * 1e-5)
        assert min(1.0, -math.log10(p) / 10.0) < bar


def test_the_shortcut_is_taken_and_changes_nothing_in_the_score() -> None:
    """A memory of recent scores high enough to skip log10 on most samples: the scores match the reference."""
    rng = np.random.default_rng(9)
    n = 3000
    val = np.cumsum(rng.normal(0, 1, n))
    val[[800, 1700, 2500]] += [60.0, -80.0, 120.0]
    ch, ts, qual = np.zeros(n, np.int32), np.arange(n, dtype=np.int64) * 1000, np.zeros(n, np.uint32)
    kernel, _ = score_block(DEFAULT_ANOMALY, ch, ts, val, qual)
    ref_scores = np.full(n, -1.0)
    det_r = DEFAULT_ANOMALY.initial_state(4)
    reference.anomaly_step(ch, ts, val, qual, NO_VALUE_MASK, DEFAULT_ANOMALY.vector(), det_r, ref_scores)
    np.testing.assert_allclose(kernel, ref_scores, rtol=1e-12, atol=0)
    assert (kernel[[800, 1700, 2500]] > 0.2).all()
    assert (kernel > 0).sum() < n // 10  # most samples score 0: below the bar, where log10 is skipped


LEVELS = Levels(blue=10, yellow=20, orange=30, red=40)


@pytest.mark.parametrize(
    ("rule", "unit", "level", "previous", "value", "forecast", "text"),
    [
        (LevelRule(type="level", levels=LEVELS), "mm", 2, 0, 25.0, None,
         "x: value above threshold 25 mm reached yellow (threshold 20)"),
        (LevelRule(type="level", levels=LEVELS), "mm", 1, 3, 12.5, None,
         "x: value above threshold 12.5 mm, down to blue (was orange)"),
        (LevelRule(type="level", direction="below", levels=Levels(red=-4)), "", 0, 4, 1.0, None,
         "x: value below threshold 1, back to normal (was red)"),
        (RateRule(type="rate", window_s=600, per="h", levels=Levels(blue=5)), "mm", 1, 0, 7.25, None,
         "x: rate (rising) 7.25 mm/h reached blue (threshold 5)"),
        (FlatlineRule(type="flatline", window_s=900, tolerance=0.01), "degC", 1, 0, 3.0, None,
         "x: value unchanged (within 0.01) for 900 s 3 degC reached blue"),
        (FaultRule(type="fault", after_s=120, level="yellow"), "%LEL", 2, 0, math.nan, None,
         "x: no usable in-range value for 120 s no value reached yellow"),
        (AnomalyRule(type="anomaly", levels=Levels(blue=0.2)), "mm", 1, 0, 0.3456789, None,
         "x: anomaly score 0.345679 reached blue (threshold 0.2)"),
        (SlopeRule(type="slope", per="d", velocity_levels=Levels(red=50)), "mm", 4, 2, 60.0,
         Forecast(1_700_000_000_000, 0.934, 17),
         "x: displacement velocity 60 mm/d reached red (threshold 50); inverse-velocity forecast of failure "
         "2023-11-14 22:13 UTC (r2 0.93, 17 points)"),
    ],
)  # fmt: skip
def test_event_text(rule, unit, level, previous, value, forecast, text) -> None:
    ch = channel("x", rule, unit=unit)
    assert describe(rule, ch, level, previous, value, forecast=forecast) == text


def test_event_text_from_the_bank() -> None:
    bank = DetectorBank.from_channels([channel("x", level(hysteresis=2.0))])
    events = run(bank, block(0, [0, 1, 2], [25.0, 17.5, 1.0]))
    assert [e.message for e in events] == [
        "x: value above threshold 25 mm reached yellow (threshold 20)",
        "x: value above threshold 17.5 mm, down to blue (was yellow)",
        "x: value above threshold 1 mm, back to normal (was blue)",
    ]
