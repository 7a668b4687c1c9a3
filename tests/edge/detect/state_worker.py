"""A gateway stand-in for the kill test: ``python -m tests.edge.detect.state_worker first|rest STATE_FILE``.

``first`` steps the first half of a fixed series, saves the state (write, fsync, rename), says ``saved`` and
waits to be killed. ``rest`` restores the state and steps the rest, printing one JSON line per event.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from edge.detect import DetectorBank
from tests.edge.detect.helpers import block, channel, every_rule

SAMPLES = 4000
SPLIT = 2500


def series() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    ts = np.cumsum(rng.integers(5_000, 90_000, SAMPLES)).astype(np.int64)
    ch = rng.integers(0, 2, SAMPLES)
    values = np.cumsum(rng.normal(0, 2.5, SAMPLES))
    return ch, ts, values


def make_bank() -> DetectorBank:
    return DetectorBank.from_channels([channel(f"p{i}", *every_rule()) for i in range(2)])


def event_rows(events) -> list[list[object]]:
    return [[e.channel, e.ts_ms, e.rule, e.previous_level, e.level, e.value] for e in events]


def main(mode: str, path: str) -> None:
    ch, ts, values = series()
    bank = make_bank()
    if mode == "first":
        bank.step(block(ch[:SPLIT], ts[:SPLIT], values[:SPLIT]))
        with open(path + ".tmp", "wb") as f:
            f.write(bank.state())
            f.flush()
            os.fsync(f.fileno())
        os.replace(path + ".tmp", path)
        print("saved", flush=True)
        time.sleep(60)  # killed long before this
        return
    with open(path, "rb") as f:
        bank.restore(f.read())
    for row in event_rows(bank.step(block(ch[SPLIT:], ts[SPLIT:], values[SPLIT:])).events):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
