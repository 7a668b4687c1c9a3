"""Register decoding: the block decoder against the one-value-at-a-time codecs, per decoded value.

    .venv/bin/python bench/register_codecs.py [--repeats 7] [--seconds 0.2]

(Not ``bench/codecs.py``: a script's folder is on mypy's and Python's module path, and a ``codecs.py``
there shadows the standard library's ``codecs`` for every script in ``bench/``. The results keep the
name ``bench/results/codecs.json``.)

The block is one read of 83 registers holding 50 points, the acquisition's hot path: a mix of uint16,
int32 and float32 in all four word orders, interleaved (so the decoder must put its type groups back in
field order). Two layouts of the same registers:

- ``plain``: decode only (scale 1, no sentinels, no ranges, no fault flags);
- ``full``: what a real profile asks for: every point scaled, a physical range on every point, a nan
  sentinel on every integer point, and a fault flag (a status bit) on every float point.

Rows:

- baseline, measured in the same run: ``protocols.codecs.decode`` then ``apply_scale`` for each point, the
  way a per-point loop would do it (and without computing any quality: a lower bound for that approach);
- ``BlockDecoder.decode`` on a list of ints (what pymodbus returns) and on a uint16 numpy array.

Each row is the best of ``--repeats`` timings of a loop running about ``--seconds``: the best is the least
disturbed by other work. The machine has 2 cores shared with other work: compare the rows of one run, not
runs with each other, and read the load average printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from protocols.codecs import apply_scale, decode, encode, register_count
from protocols.codecs_block import BlockDecoder, FieldSpec
from protocols.profile import DataType, WordOrder

RESULTS = Path(__file__).resolve().parent / "results" / "codecs.json"
POINTS = 50
TYPES: tuple[DataType, ...] = ("uint16", "int32", "float32")
ORDERS: tuple[WordOrder, ...] = ("ABCD", "CDAB", "BADC", "DCBA")


def layout(full: bool) -> tuple[list[FieldSpec], list[int]]:
    """50 points after one status register (field 0, the fault flags' source); and their registers."""
    rng = random.Random(7)
    fields = [FieldSpec(0, "bit", bit=0)]
    words = [0]  # status: no fault raised
    for i in range(POINTS - 1):
        data_type = TYPES[i % len(TYPES)]
        order = ORDERS[(i // len(TYPES)) % len(ORDERS)]
        if data_type == "float32":
            value: float = rng.uniform(-100.0, 100.0)
        else:
            value = rng.randrange(0, 30000)
        extra: dict[str, object] = {}
        if full:
            extra = {"scale": 0.1, "value_offset": -5.0, "physical_range": (-1000.0, 5000.0)}
            if data_type == "float32":
                extra["fault_flag"] = 0
            else:
                extra["nan_value"] = 0xFFFF if data_type == "uint16" else -1
        fields.append(FieldSpec(len(words), data_type, order, **extra))  # type: ignore[arg-type]
        words += encode(value, data_type, order)
    return fields, words


def scalar_loop(fields: list[FieldSpec], words: list[int]) -> Callable[[], object]:
    spans = [(f, f.offset + register_count(f.data_type)) for f in fields]

    def run() -> list[float]:
        out = []
        for f, end in spans:
            raw = decode(words[f.offset : end], f.data_type, f.word_order, bit=f.bit)
            out.append(apply_scale(raw, f.scale, f.value_offset))  # type: ignore[arg-type]
        return out

    return run


def best_ns(fn: Callable[[], object], repeats: int, seconds: float) -> float:
    """Best time of one call, in ns, over ``repeats`` loops of about ``seconds`` each."""
    start = time.perf_counter()
    calls = 0
    while time.perf_counter() - start < seconds / 10:
        fn()
        calls += 1
    per_loop = max(1, calls * 10)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(per_loop):
            fn()
        best = min(best, (time.perf_counter() - start) / per_loop)
    return best * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.2)
    args = parser.parse_args()

    rows = []
    for name in ("plain", "full"):
        fields, words = layout(full=name == "full")
        decoder = BlockDecoder(fields)
        array = np.array(words, dtype=np.uint16)
        block_values, _ = decoder.decode(words)
        scalar_values = scalar_loop(fields, words)()
        assert np.array_equal(block_values, np.array(scalar_values)), "the two ways disagree"
        baseline = best_ns(scalar_loop(fields, words), args.repeats, args.seconds)
        for how, fn in (
            ("scalar decode loop (baseline)", scalar_loop(fields, words)),
            ("BlockDecoder, list of ints", lambda d=decoder, w=words: d.decode(w)),
            ("BlockDecoder, uint16 array", lambda d=decoder, a=array: d.decode(a)),
        ):
            ns = baseline if how.endswith("(baseline)") else best_ns(fn, args.repeats, args.seconds)
            rows.append(
                {
                    "layout": name,
                    "how": how,
                    "points": len(fields),
                    "registers": len(words),
                    "us_per_block": round(ns / 1000, 2),
                    "ns_per_value": round(ns / len(fields), 1),
                    "speedup_vs_baseline": round(baseline / ns, 1),
                }
            )

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load}; {POINTS} points in {rows[0]['registers']} registers per block\n")
    print(f"{'layout':<6} {'how':<30} {'us/block':>9} {'ns/value':>9} {'x baseline':>10}")
    for r in rows:
        print(
            f"{r['layout']:<6} {r['how']:<30} {r['us_per_block']:>9} {r['ns_per_value']:>9} "
            f"{r['speedup_vs_baseline']:>10}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"load_average": load, "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
