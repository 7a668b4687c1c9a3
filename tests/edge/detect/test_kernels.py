"""Every kernel equals its plain-Python reference: random, constant, NaN, inf, empty, one sample, hypothesis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.detect import DEFAULT_ANOMALY, AnomalyConfig, DetectorBank, reference
from edge.detect import anomalykernel as ak
from edge.detect import rulekernel as rk
from edge.detect.bank import NO_VALUE_MASK, OUT_OF_RANGE
from protocols.quality import Quality
from tests.edge.detect.helpers import channel, every_rule

ROOT = Path(__file__).resolve().parents[3]


SMALL_CODEBOOK = AnomalyConfig(prototypes=4, warm_up=5)  # full at once: exercises replacing the stalest
PATTERNS = AnomalyConfig(window=4, downsample=2, prototypes=6, learn_rate=0.2, vigilance=0.05, warm_up=5)
CONFIGS = pytest.mark.parametrize(
    "anomaly", [DEFAULT_ANOMALY, SMALL_CODEBOOK, PATTERNS], ids=["default", "small", "patterns"]
)


def make_bank(n_channels: int = 3, anomaly: AnomalyConfig = DEFAULT_ANOMALY) -> DetectorBank:
    channels = [channel(f"p{i}", *every_rule(), physical_range=(-100, 100)) for i in range(n_channels)]
    return DetectorBank.from_channels(channels, anomaly=anomaly)


def run_both(bank: DetectorBank, ch, ts, val, qual):
    """Run kernel and reference on copies of the same state; return both results."""
    ch = np.asarray(ch, dtype=np.int32)
    ts = np.asarray(ts, dtype=np.int64)
    val = np.asarray(val, dtype=np.float64)
    qual = np.asarray(qual, dtype=np.uint32)
    n = len(ch)
    t = bank.tables
    out = []
    for anomaly_step, rules_step in ((ak.anomaly_step, rk.rules_step),
                                     (reference.anomaly_step, reference.rules_step)):  # fmt: skip
        det, state, ring, chan_state = (
            bank.det.copy(),
            bank.rule_state.copy(),
            bank.ring.copy(),
            bank.chan_state.copy(),
        )
        scores = np.full(n, -1.0)
        bad = anomaly_step(ch, ts, val, qual, NO_VALUE_MASK, bank._cfg, det, scores)
        cap = max(1, n * t.max_rules_per_channel)
        ev_int, ev_float = np.zeros((cap, 4), np.int64), np.zeros((cap, 4))
        n_ev = 0
        if bad < 0:  # the bank never runs the rules on a block with a bad channel index
            n_ev = rules_step(ch, ts, val, qual, scores, NO_VALUE_MASK, OUT_OF_RANGE, t.chan_ptr, t.chan_rules,
                              t.rule_info, t.params, state, ring, chan_state, ev_int, ev_float)  # fmt: skip
        out.append((bad, scores, det, state, ring, chan_state, ev_int[:n_ev], ev_float[:n_ev]))
    return out


def assert_same(kernel, ref):
    bad_k, *arrays_k = kernel
    bad_r, *arrays_r = ref
    assert bad_k == bad_r
    names = ("scores", "det", "state", "ring", "chan_state", "ev_int", "ev_float")
    for name, a, b in zip(names, arrays_k, arrays_r, strict=True):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=name)


def series(n: int, kind: str, rng: np.random.Generator):
    ts = np.cumsum(rng.integers(1_000, 120_000, n)) + 1_700_000_000_000
    ch = rng.integers(0, 3, n)
    qual = np.where(rng.random(n) < 0.05, int(Quality.COMM_ERROR), 0)
    qual = np.where(rng.random(n) < 0.03, int(Quality.OUT_OF_RANGE), qual)
    values = {
        "random": np.cumsum(rng.normal(0, 3, n)),
        "constant": np.full(n, 12.5),
        "nan": np.where(rng.random(n) < 0.2, np.nan, rng.normal(15, 10, n)),
        "inf": np.where(rng.random(n) < 0.1, np.inf * rng.choice([-1, 1], n), rng.normal(0, 30, n)),
        "ramp": np.linspace(-50, 150, n) ** 1.0,
    }[kind]
    return ch, ts, values, qual


@CONFIGS
@pytest.mark.parametrize("kind", ["random", "constant", "nan", "inf", "ramp"])
def test_kernels_equal_references(kind: str, anomaly: AnomalyConfig) -> None:
    rng = np.random.default_rng(7)
    bank = make_bank(anomaly=anomaly)
    kernel, ref = run_both(bank, *series(3000, kind, rng))
    assert_same(kernel, ref)
    if kind in ("random", "ramp"):
        assert len(kernel[-2]) > 0, "the data should make some rules change level"


@pytest.mark.parametrize("n", [0, 1])
def test_empty_and_one_sample(n: int) -> None:
    bank = make_bank()
    kernel, ref = run_both(bank, [0] * n, [1_700_000_000_000] * n, [5.0] * n, [0] * n)
    assert_same(kernel, ref)
    assert kernel[1].shape == (n,)


def test_bad_channel_index_changes_nothing() -> None:
    bank = make_bank()
    kernel, ref = run_both(bank, [0, 7], [1, 2], [1.0, 2.0], [0, 0])
    assert kernel[0] == ref[0] == 1
    np.testing.assert_array_equal(kernel[2], bank.det)


def test_late_samples_are_skipped_and_counted() -> None:
    bank = make_bank()
    kernel, ref = run_both(bank, [0, 0, 0], [2_000, 1_000, 3_000], [1.0, 50.0, 2.0], [0, 0, 0])
    assert_same(kernel, ref)
    assert kernel[5][0, rk.CH_LATE] == 1
    assert kernel[1][1] == 0.0


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, 600_000),
            st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.just(float("inf"))),
            st.sampled_from([0, int(Quality.COMM_ERROR), int(Quality.OUT_OF_RANGE), int(Quality.DEGRADED)]),
        ),
        max_size=300,
    )
)
@CONFIGS
def test_kernels_equal_references_hypothesis(steps, anomaly: AnomalyConfig) -> None:
    bank = make_bank(anomaly=anomaly)
    ch = [s[0] for s in steps]
    ts = np.cumsum([s[1] for s in steps]).astype(np.int64)
    kernel, ref = run_both(bank, ch, ts, [s[2] for s in steps], [s[3] for s in steps])
    assert_same(kernel, ref)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without the JIT")
def test_kernel_tests_pass_without_the_jit() -> None:
    """The same tests with NUMBA_DISABLE_JIT=1, so coverage tools see the kernels as Python."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(Path(__file__)),
         "-k", "not hypothesis"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
