"""Detection: the numba kernels against their plain-Python references, the bank, the step, the JIT.

    .venv/bin/python bench/detect.py [--repeats 5]

Rows (samples per second on one core, one Python thread; numba runs no threads of its own here):

- ``rules kernel``: ``rulekernel.rules_step`` over blocks of 10k samples spread over 1k channels, each
  channel with one level rule (``level``) or with one rule of every kind (``every rule``, 8 rules);
- ``anomaly kernel``: ``anomalykernel.anomaly_step`` on the same blocks;
- ``bank``: ``DetectorBank.step`` of a fresh bank (built before the timing) with both kernels and the events
  built: one level rule per channel (events are rare, as in the field), and every rule kind on every channel
  (a random walk through low thresholds: event-heavy, so it mostly measures building ``Event`` objects);
- the references (``edge.detect.reference``) on the same data in the same run: the baseline;
- ``step 200 x 1``: one ``DetectorBank.step`` of one sample on each of 200 channels (a poll cycle), each
  channel with a level rule, the two kernels' shares of it (called directly on the same blocks), and what
  is left: Python, numba's argument checks, building events (the random walk raises and clears some);
- ``jit cold``: a fresh process with an empty numba cache: import, build a bank, compile, first step;
- ``start warm``: a fresh process with that cache filled: process start to the first step done.

Each row gives the best and the median of ``--repeats`` timings (the best is the least disturbed by other
work). The machine has 2 cores shared with other helpers: compare rows of one run, and read the load
averages printed before and after it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge.detect import DetectorBank, reference
from edge.detect import anomalykernel as ak
from edge.detect import rulekernel as rk
from edge.detect.bank import NO_VALUE_MASK, OUT_OF_RANGE
from protocols.config import Channel
from protocols.records import ReadingBlock
from protocols.rules import LevelRule, Levels, Rule

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.edge.detect.helpers import every_rule

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "detect.json"
CHANNELS = 1000
BLOCK = 10_000

START_SCRIPT = """
import time, psutil
from edge.detect import DetectorBank
from protocols.config import Channel
from protocols.records import ReadingBlock
from tests.edge.detect.helpers import every_rule
channels = [Channel(f"gw/d{i}/p", f"d{i}", "p", "mm", None, every_rule(), "b", None) for i in range(200)]
bank = DetectorBank.from_channels(channels)
t = time.perf_counter()
bank.step(ReadingBlock.of(range(200), [0] * 200, [1.0] * 200, [0] * 200))
print(time.perf_counter() - t, time.time() - psutil.Process().create_time())
"""


def timings(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def rates(samples: int, times: list[float]) -> dict[str, float]:
    """Samples per second: best and median of the timings."""
    return {"best": samples / min(times), "median": samples / float(np.median(times))}


def channels_with(rules: tuple[Rule, ...]) -> list[Channel]:
    return [Channel(f"gw/d{i}/p", f"d{i}", "p", "mm", (-1e9, 1e9), rules, "b", None) for i in range(CHANNELS)]


def blocks(n_blocks: int) -> list[ReadingBlock]:
    rng = np.random.default_rng(1)
    out, t0 = [], 1_700_000_000_000
    walk = np.zeros(CHANNELS)
    for _ in range(n_blocks):
        ch = np.tile(np.arange(CHANNELS), BLOCK // CHANNELS)
        step = rng.normal(0, 1.0, BLOCK)
        values = walk[ch] + np.cumsum(step.reshape(-1, CHANNELS), axis=0).ravel()
        walk = values[-CHANNELS:]
        ts = t0 + np.repeat(np.arange(BLOCK // CHANNELS), CHANNELS) * 10_000
        t0 = int(ts[-1]) + 10_000
        out.append(ReadingBlock.of(ch, ts, values, np.zeros(BLOCK)))
    return out


def rules_runner(
    bank: DetectorBank, data: list[ReadingBlock], fn: Callable[..., object]
) -> Callable[[], object]:
    t = bank.tables
    scores = np.zeros(BLOCK)
    ev_int = np.zeros((BLOCK * t.max_rules_per_channel, 4), np.int64)
    ev_float = np.zeros((BLOCK * t.max_rules_per_channel, 4))

    def run() -> None:
        state, ring, chan = bank.rule_state.copy(), bank.ring.copy(), bank.chan_state.copy()
        for b in data:
            fn(b.channel, b.ts_ms, b.value, b.quality, scores, NO_VALUE_MASK, OUT_OF_RANGE, t.chan_ptr,
               t.chan_rules, t.rule_info, t.params, state, ring, chan, ev_int, ev_float)  # fmt: skip

    return run


def anomaly_runner(
    bank: DetectorBank, data: list[ReadingBlock], fn: Callable[..., object]
) -> Callable[[], object]:
    scores = np.zeros(BLOCK)

    def run() -> None:
        det = bank.det.copy()
        for b in data:
            fn(b.channel, b.ts_ms, b.value, b.quality, NO_VALUE_MASK, bank._cfg, det, scores)

    return run


def bank_runner(
    rules: tuple[Rule, ...], data: list[ReadingBlock], events: list[int], repeats: int
) -> Callable[[], object]:
    """Steps a fresh bank through the blocks (built beforehand: building 1k channels is not stepping)."""
    banks = [DetectorBank.from_channels(channels_with(rules)) for _ in range(repeats)]

    def run() -> None:
        bank = banks.pop()
        for b in data:
            bank.step(b)
        events.append(bank.statistics()["events"])

    return run


def step_200(repeats: int, rules: tuple[Rule, ...]) -> dict[str, dict[str, float]]:
    """Microseconds per step of 200 channels x 1 sample: the whole step, each kernel's share, the rest."""
    bank = DetectorBank.from_channels(channels_with(rules)[:200])
    rng = np.random.default_rng(2)
    n = 3000
    values = np.cumsum(rng.normal(0, 0.2, (n, 200)), axis=0)
    blocks_ = [
        ReadingBlock.of(np.arange(200), np.full(200, k * 1000), values[k], np.zeros(200)) for k in range(n)
    ]
    bank.step(blocks_[0])
    out: dict[str, list[float]] = {"step": [], "anomaly kernel": [], "rules kernel": []}
    events = 0
    t_ = bank.tables
    scores = np.zeros(200)
    for r in range(repeats):
        part = blocks_[1 + r * (n // repeats) : (r + 1) * (n // repeats)]
        det, state, ring, chan = (
            bank.det.copy(),
            bank.rule_state.copy(),
            bank.ring.copy(),
            bank.chan_state.copy(),
        )
        t = time.perf_counter()
        for b in part:
            ak.anomaly_step(b.channel, b.ts_ms, b.value, b.quality, NO_VALUE_MASK, bank._cfg, det, scores)
        out["anomaly kernel"].append((time.perf_counter() - t) / len(part))
        t = time.perf_counter()
        for b in part:
            rk.rules_step(
                b.channel,
                b.ts_ms,
                b.value,
                b.quality,
                scores,
                NO_VALUE_MASK,
                OUT_OF_RANGE,
                t_.chan_ptr,
                t_.chan_rules,
                t_.rule_info,
                t_.params,
                state,
                ring,
                chan,
                bank._ev_int,
                bank._ev_float,
            )
        out["rules kernel"].append((time.perf_counter() - t) / len(part))
        t = time.perf_counter()
        for b in part:
            events += len(bank.step(b).events)
        out["step"].append((time.perf_counter() - t) / len(part))
    result = {k: {"best": min(v) * 1e6, "median": float(np.median(v)) * 1e6} for k, v in out.items()}
    result["rest: python, dispatch, events"] = {
        k: result["step"][k] - result["anomaly kernel"][k] - result["rules kernel"][k]
        for k in ("best", "median")
    }
    result["events per step"] = {"best": events / (n - 1), "median": events / (n - 1)}
    return result


def start_times() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = {}
        for name in ("cold", "warm"):
            t = time.perf_counter()
            cmd = [sys.executable, "-c", START_SCRIPT]
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
            wall = time.perf_counter() - t
            first_step_s, since_start_s = (float(v) for v in proc.stdout.split())
            out[f"{name}_first_step_s"] = first_step_s
            out[f"{name}_process_start_to_first_step_s"] = since_start_s
            out[f"{name}_wall_s"] = wall
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    load_before = os.getloadavg()
    data = blocks(5)
    small = [
        ReadingBlock(b.channel[:1000], b.ts_ms[:1000], b.value[:1000], b.quality[:1000]) for b in data[:1]
    ]
    n, n_small = BLOCK * len(data), 1000
    level_only = (
        LevelRule(type="level", levels=Levels(blue=10, yellow=20, orange=30, red=40), hysteresis=1),
    )
    rows: dict[str, dict[str, float]] = {}
    for label, rules in (("level", level_only), ("every rule", every_rule())):
        bank = DetectorBank.from_channels(channels_with(rules))
        bank.warm_up()
        kernel_times = timings(rules_runner(bank, data, rk.rules_step), args.repeats)
        rows[f"rules kernel, {label}"] = rates(n, kernel_times)
        ref_times = timings(rules_runner(bank, small, reference.rules_step), 1)
        rows[f"rules reference, {label}"] = rates(n_small, ref_times)
    rows["anomaly kernel"] = rates(n, timings(anomaly_runner(bank, data, ak.anomaly_step), args.repeats))
    ref_times = timings(anomaly_runner(bank, small, reference.anomaly_step), 1)
    rows["anomaly reference"] = rates(n_small, ref_times)
    events: dict[str, list[int]] = {"level": [], "every rule": []}
    for label, rules in (("level", level_only), ("every rule", every_rule())):
        bank_times = timings(bank_runner(rules, data, events[label], args.repeats), args.repeats)
        rows[f"bank, {label + ' rule' if label == 'level' else label} + anomaly"] = rates(n, bank_times)
    step_us = step_200(args.repeats, level_only)
    starts = start_times()
    load = os.getloadavg()
    print(f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} before, "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} after, on {os.cpu_count()} cores")  # fmt: skip
    print(f"{'what':40s} {'samples/s best':>15s} {'median':>15s}")
    for name, rate in rows.items():
        print(f"{name:40s} {rate['best']:15,.0f} {rate['median']:15,.0f}")
    print(
        f"events per bank run: level {events['level'][0]}, every rule {events['every rule'][0]} ({n} samples)"
    )
    for name, us in step_us.items():
        unit = "" if name == "events per step" else " us"
        label = "step 200 channels x 1 sample, " + name
        print(f"{label:50s} {us['best']:8.2f}{unit} {us['median']:8.2f}{unit}")
    for name, value in starts.items():
        print(f"{name:40s} {value:12.3f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "samples_per_s": rows, "step_200x1_us": step_us, "bank_events": {k: v[0] for k, v in events.items()},
        "start": starts, "load_average_before": load_before, "load_average": load,
        "block_samples": BLOCK, "channels": CHANNELS, "repeats": args.repeats, "targets": {
            "rules_kernel_samples_per_s": 100e6, "bank_samples_per_s": 1e6, "step_200x1_us": 5.0},
    }, indent=2))  # fmt: skip
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
