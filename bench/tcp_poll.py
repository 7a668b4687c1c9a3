"""Modbus TCP polling cost: values per second delivered, CPU microseconds per value, peak memory.

    .venv/bin/python bench/tcp_poll.py [--duration-s 60] [--baseline-s 15]

10 Modbus TCP slaves (10 endpoints, pymodbus's TCP server via ``simulator.modbus_slaves`` in its own
process, values changing on every read) x 50 holding registers (uint16 points), polled every 100 ms:
the target is 10 x 50 / 0.1 s = 5000 values/s. The edge runs in this process, so ``getrusage`` gives its
CPU alone.

Measured in the same run, in this order:

1. baseline: a bare pymodbus loop doing the same reads (10 clients, one 50-register read every 100 ms
   each, ``asyncio.sleep`` between), decoding nothing: the CPU pymodbus and asyncio cost by themselves;
2. FieldWatch: ``edge.acquisition.Acquisition`` on a site file with the 10 endpoints, its sink counting
   values (the real pipeline would start from here).

Targets: >= 0.99 of the target rate; <= 6 us CPU per value (the ThingsBoard IoT Gateway needs 29 us per
value on this load with block reads, 89 us with one request per key). Peak RSS is the process's maximum,
baseline included. The machine has 2 cores shared with other work: read the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _peers import (
    PYTHON,
    ROOT,
    Peer,
    bare_tcp_poll,
    cpu_s,
    endpoints_of,
    load_average,
    peak_rss_mib,
    site_file,
)

from edge.acquisition import Acquisition
from edge.acquisition.modbus_client import quiet_pymodbus_logging
from edge.siteconfig import load_site
from protocols.quality import Quality
from protocols.records import Event, ReadingBlock

RESULTS = ROOT / "bench" / "results" / "tcp_poll.json"
ENDPOINTS = 10
REGISTERS = 50
INTERVAL_S = 0.1
WARMUP_S = 2.0
TARGET_PER_S = ENDPOINTS * REGISTERS / INTERVAL_S


class CountingSink:
    def __init__(self) -> None:
        self.values = 0
        self.bad = 0
        self.events: list[Event] = []

    def put_readings(self, block: ReadingBlock) -> None:
        self.values += len(block)
        # CLOCK_UNSYNC only says the machine's clock is not NTP-synchronised (true in containers)
        self.bad += int((block.quality & ~np.uint32(Quality.CLOCK_UNSYNC) != 0).sum())

    def put_event(self, event: Event) -> None:
        self.events.append(event)


async def baseline(endpoints: list[tuple[str, int]], duration_s: float) -> dict[str, Any]:
    """The same reads with a bare pymodbus loop per endpoint: no schedule, no decode, no blocks."""
    elapsed, cpu, values = await bare_tcp_poll(endpoints, REGISTERS, INTERVAL_S, duration_s)
    return {
        "elapsed_s": round(elapsed, 3),
        "values": values,
        "values_per_s": round(values / elapsed, 1),
        "cpu_us_per_value": round(cpu / values * 1e6, 2),
    }


async def fieldwatch(site_path: Path, duration_s: float) -> dict[str, Any]:
    sink = CountingSink()
    acquisition = Acquisition(load_site(site_path), sink)
    task = asyncio.create_task(acquisition.run())
    await asyncio.sleep(WARMUP_S)
    values0, cpu0, t0 = sink.values, cpu_s(), time.perf_counter()
    await asyncio.sleep(duration_s)
    values1, cpu1, t1 = sink.values, cpu_s(), time.perf_counter()
    stats = acquisition.statistics()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    elapsed, values = t1 - t0, values1 - values0
    per_bus = list(stats.values())
    return {
        "elapsed_s": round(elapsed, 3),
        "values": values,
        "values_per_s": round(values / elapsed, 1),
        "x_target": round(values / elapsed / TARGET_PER_S, 4),
        "cpu_us_per_value": round((cpu1 - cpu0) / values * 1e6, 2),
        "cpu_share": round((cpu1 - cpu0) / elapsed, 3),
        "values_with_problem_flags": sink.bad,
        "timeouts": sum(b["timeouts"] for b in per_bus),
        "skipped_slots": sum(b["skipped_slots"] for b in per_bus),
        "latency_p50_ms": sorted(b["latency_ms"]["p50"] or 0 for b in per_bus)[len(per_bus) // 2],
        "latency_p95_ms_max": max(b["latency_ms"]["p95"] or 0 for b in per_bus),
        "events": [e.message for e in sink.events],
    }


async def run(duration_s: float, baseline_s: float) -> dict[str, Any]:
    slaves = Peer(
        [PYTHON, "-m", "simulator.modbus_slaves", "tcp", "--port", "0", "--endpoints", str(ENDPOINTS),
         "--units", "1", "--registers", str(REGISTERS), "--changing"],
        "listening",
        output=True,
    )  # fmt: skip
    try:
        endpoints = endpoints_of(slaves.output)
        base = await baseline(endpoints, baseline_s)
        with tempfile.TemporaryDirectory(prefix="tcp_poll_") as tmp:
            buses: list[dict[str, object]] = [
                {"name": f"tcp{i}", "type": "tcp", "host": host, "port": port}
                for i, (host, port) in enumerate(endpoints)
            ]
            site = site_file(Path(tmp), buses=buses, units=[1], registers=REGISTERS,
                             poll_interval_ms=int(INTERVAL_S * 1000), timeout_ms=1000)  # fmt: skip
            ours = await fieldwatch(site, duration_s)
    finally:
        slaves.stop()
    return {"target_values_per_s": TARGET_PER_S, "baseline_pymodbus": base, "fieldwatch": ours}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration-s", type=float, default=60.0)
    ap.add_argument("--baseline-s", type=float, default=15.0)
    args = ap.parse_args()
    quiet_pymodbus_logging()  # a late answer after a cancelled read is counted, not printed
    load_before = load_average()
    result = asyncio.run(run(args.duration_s, args.baseline_s))
    result |= {"peak_rss_mib": round(peak_rss_mib(), 1), "load_average": [load_before, load_average()]}
    b, f = result["baseline_pymodbus"], result["fieldwatch"]
    print(f"10 TCP slaves x {REGISTERS} registers every {INTERVAL_S * 1000:.0f} ms; target "
          f"{TARGET_PER_S:.0f} values/s; load average before {load_before}, after {load_average()}"
          )  # fmt: skip
    print(f"{'case':<28} {'s':>6} {'values/s':>9} {'x target':>9} {'CPU us/value':>13}")
    print(f"{'baseline: bare pymodbus':<28} {b['elapsed_s']:>6} {b['values_per_s']:>9} "
          f"{b['values_per_s'] / TARGET_PER_S:>9.4f} {b['cpu_us_per_value']:>13}")  # fmt: skip
    print(f"{'FieldWatch acquisition':<28} {f['elapsed_s']:>6} {f['values_per_s']:>9} {f['x_target']:>9} "
          f"{f['cpu_us_per_value']:>13}")  # fmt: skip
    print(f"peak RSS {result['peak_rss_mib']} MiB; FieldWatch timeouts {f['timeouts']}, skipped slots "
          f"{f['skipped_slots']}, latency p50 {f['latency_p50_ms']} ms")  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
