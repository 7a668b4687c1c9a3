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
- ``cold_*`` / ``warm_*`` (the first detection step): a fresh process that imports the detectors, builds a
  bank of 200 channels with every rule kind and steps it once, with an empty numba cache (``cold``: the
  step compiles both kernels) and with that cache filled (``warm``: the step loads them): the first step's
  own time, and process start to the first step done;
- ``agent_*`` (the agent's start): ``fieldwatch-edge run`` on a site of 3 channels (no device, no central
  answering), from spawning the process to its ``READY=1`` on the notify socket, with an empty numba cache
  (``agent_cold``), and after ``fieldwatch-edge warm`` filled it (``agent_warm``; ``warm_command_s`` is
  the warm command's own wall time). ``agent_*_kernels_s`` is the warm-up inside it, from the agent's log.

``--start-only`` measures only the starts (for emulated runs: ``scripts/test-aarch64.sh --run
.venv/bin/python bench/detect.py --start-only`` under qemu-user) and writes ``detect-start-<machine>.json``.

Each row gives the best and the median of ``--repeats`` timings (the best is the least disturbed by other
work). The machine has 2 cores shared with other helpers: compare rows of one run, and read the load
averages printed before and after it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import socket
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
from tests.e2e.processes import EDGE
from tests.edge.agent.sites import write_site
from tests.edge.detect.helpers import every_rule
from tests.support.ports import free_port

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


def agent_ready_s(site: Path, env: dict[str, str], folder: Path) -> tuple[float, float]:
    """Seconds from spawning ``fieldwatch-edge run`` to its READY=1, and its kernels' warm-up (its log)."""
    sock_path = folder / "notify"
    sock_path.unlink(missing_ok=True)
    log_path = folder / "agent.log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, log_path.open("w") as log:
        sock.bind(str(sock_path))
        sock.settimeout(1.0)
        env = dict(env, NOTIFY_SOCKET=str(sock_path), FIELDWATCH_TOKEN="bench")
        t = time.perf_counter()
        proc = subprocess.Popen([*EDGE, "-v", "run", str(site)], cwd=ROOT, env=env, stderr=log)
        try:
            said: list[str] = []
            while "READY=1" not in said:
                if proc.poll() is not None or time.perf_counter() - t > 900:
                    raise RuntimeError(f"the agent did not get ready: {log_path.read_text()}")
                with contextlib.suppress(TimeoutError):
                    said += sock.recv(4096).decode().split("\n")
            ready_s = time.perf_counter() - t
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    found = re.search(r"detection kernels (?:compiled|ready) in (\d+\.\d+) s", log_path.read_text())
    return ready_s, float(found.group(1)) if found else float("nan")


def agent_start_times() -> dict[str, float]:
    """The agent's start with an empty numba cache, then after ``fieldwatch-edge warm``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        site = write_site(folder, modbus_port=free_port(), uplink='{type: http, url: "http://127.0.0.1:9"}')
        out = {}
        cache = folder / "cold-cache"
        out["agent_cold_ready_s"], out["agent_cold_kernels_s"] = agent_ready_s(
            site, dict(os.environ, NUMBA_CACHE_DIR=str(cache)), folder
        )
        cache = folder / "warmed-cache"
        env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
        t = time.perf_counter()
        subprocess.run([*EDGE, "warm", str(site)], cwd=ROOT, env=env, check=True, capture_output=True)
        out["warm_command_s"] = time.perf_counter() - t
        (folder / "outbox.db.detector").unlink(missing_ok=True)
        out["agent_warm_ready_s"], out["agent_warm_kernels_s"] = agent_ready_s(site, env, folder)
        return out


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


def print_starts(starts: dict[str, float]) -> None:
    for name, value in starts.items():
        print(f"{name:40s} {value:12.3f} s")


def main_start_only() -> None:
    load_before = os.getloadavg()
    starts = start_times() | agent_start_times()
    load = os.getloadavg()
    machine = platform.machine()
    print(
        f"{machine}, load average {load_before[0]:.2f} before, {load[0]:.2f} after, on {os.cpu_count()} cores"
    )
    print_starts(starts)
    path = RESULTS.with_name(f"detect-start-{machine}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine, "start": starts, "load_average_before": load_before,
                                "load_average": load}, indent=2))  # fmt: skip
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--start-only", action="store_true", help="only the cold and warm starts")
    args = parser.parse_args()
    if args.start_only:
        main_start_only()
        return
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
    starts = start_times() | agent_start_times()
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
    print_starts(starts)
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
