"""RTU bus rate: how close FieldWatch polls one RS-485 bus to the wire's theoretical limit.

    .venv/bin/python bench/bus_rate.py [--duration-s 20] [--wire project|shared|PATH]

One bus through the wire emulator at 9600 8N1, 19200 8E1 and 115200 8N1, slaves answering after a 5 ms
turnaround: 8 slaves x 20 holding registers polled as fast as possible (10 ms poll interval, the
minimum), slave 8 dead. Each run has three processes: the wire (``simulator.rs485wire`` or, with
``--wire shared``, the independent ``shared/tools/serial_wire.py``), the slaves (pymodbus's RTU server via
``simulator.modbus_slaves``) and the edge (this process: ``edge.acquisition.Acquisition`` on a site file).

Reported per speed:

- theory: 1 / (8-byte request + t3.5 + turnaround + (5 + 2N)-byte answer + t3.5), from
  ``protocols.bustiming`` (N = 20);
- baseline, measured in the same run on the same wire: a bare pymodbus client reading the live slaves
  back to back (no schedule, no decoding, no dead slave): what pymodbus alone reaches here;
- FieldWatch: good answers from the live slaves per second of bus time, with the dead slave's time taken
  out (the time of every request sent to it, its timeouts included: the backoff's cost), and the raw rate
  over wall time beside it. Target: >= 0.97 of theory at each speed.

The machine has 2 cores shared with other work: read the load average printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from _peers import PYTHON, ROOT, Peer, cpu_s, load_average, site_file
from pymodbus.client import AsyncModbusSerialClient

from edge.acquisition import Acquisition
from edge.acquisition.modbus_client import quiet_pymodbus_logging
from edge.siteconfig import load_site
from protocols.bustiming import transaction_s
from protocols.records import Event, ReadingBlock

RESULTS = ROOT / "bench" / "results" / "bus_rate.json"
SHARED_WIRE = ROOT.parent / "shared" / "tools" / "serial_wire.py"
SPEEDS = ((9600, "8N1"), (19200, "8E1"), (115200, "8N1"))
LIVE_UNITS = list(range(1, 8))
DEAD_UNIT = 8
REGISTERS = 20
TURNAROUND_S = 0.005
WARMUP_S = 1.0


class CountingSink:
    def __init__(self) -> None:
        self.values = 0
        self.events: list[Event] = []

    def put_readings(self, block: ReadingBlock) -> None:
        self.values += len(block)

    def put_event(self, event: Event) -> None:
        self.events.append(event)


def bits_of(framing: str) -> int:
    return 1 + int(framing[0]) + (0 if framing[1] == "N" else 1) + int(framing[2])


def start_wire(which: str, link_dir: Path, baud: int, framing: str) -> Peer:
    common = ["--link-dir", str(link_dir), "--baud", str(baud), "--turnaround-ms", str(TURNAROUND_S * 1e3),
              "--dead-units", str(DEAD_UNIT)]  # fmt: skip
    if which == "project":
        return Peer([PYTHON, "-m", "simulator.rs485wire", *common, "--framing", framing], "wire up")
    script = SHARED_WIRE if which == "shared" else Path(which)
    return Peer([PYTHON, str(script), *common, "--bits", str(bits_of(framing))], "wire up")


def start_slaves(device_path: Path, baud: int, framing: str) -> Peer:
    units = f"{LIVE_UNITS[0]}-{LIVE_UNITS[-1]}"
    return Peer(
        [PYTHON, "-m", "simulator.modbus_slaves", "rtu", "--serial", str(device_path), "--baud", str(baud),
         "--framing", framing, "--units", units, "--registers", str(REGISTERS), "--changing"],
        "listening",
    )  # fmt: skip


async def pymodbus_baseline(master: Path, baud: int, duration_s: float) -> dict[str, Any]:
    """A bare pymodbus loop over the live slaves: the rate pymodbus alone reaches on this wire."""
    client = AsyncModbusSerialClient(str(master), baudrate=baud, retries=0, timeout=1.0, reconnect_delay=0)
    await client.connect()
    try:
        for unit in LIVE_UNITS:  # warm up
            await client.read_holding_registers(0, count=REGISTERS, device_id=unit)
        good, i = 0, 0
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < duration_s:
            response = await client.read_holding_registers(0, count=REGISTERS, device_id=LIVE_UNITS[i % 7])
            good += not response.isError()
            i += 1
    finally:
        client.close()
    return {"transactions": good, "elapsed_s": round(elapsed, 3), "per_s": round(good / elapsed, 2)}


async def fieldwatch(site_path: Path, duration_s: float) -> dict[str, Any]:
    site = load_site(site_path)
    sink = CountingSink()
    acquisition = Acquisition(site, sink)
    task = asyncio.create_task(acquisition.run())
    await asyncio.sleep(WARMUP_S)
    before, cpu0, t0 = acquisition.statistics(), cpu_s(), time.perf_counter()
    await asyncio.sleep(duration_s)
    after, cpu1, t1 = acquisition.statistics(), cpu_s(), time.perf_counter()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    (bus_before,), (bus_after,) = before.values(), after.values()

    def delta(unit: int, key: str) -> float:
        name = f"line-u{unit}"
        return float(bus_after["devices"][name][key] - bus_before["devices"][name][key])

    elapsed = t1 - t0
    live = sum(delta(u, "good") for u in LIVE_UNITS)
    dead_s = delta(DEAD_UNIT, "line_s")
    return {
        "elapsed_s": round(elapsed, 3),
        "live_transactions": int(live),
        "dead_slave_s": round(dead_s, 3),
        "dead_slave_requests": int(delta(DEAD_UNIT, "requests")),
        "per_s_raw": round(live / elapsed, 2),
        "per_s_bus_time": round(live / (elapsed - dead_s), 2),
        "timeouts_live": int(sum(delta(u, "timeouts") for u in LIVE_UNITS)),
        "crc_errors": int(bus_after["crc_errors"] - bus_before["crc_errors"]),
        "skipped_slots": int(bus_after["skipped_slots"] - bus_before["skipped_slots"]),
        "latency_ms": bus_after["latency_ms"],
        "cpu_share": round((cpu1 - cpu0) / elapsed, 3),
        "events": [e.message for e in sink.events],
    }


async def one_speed(wire: str, baud: int, framing: str, duration_s: float) -> dict[str, Any]:
    theory_s = transaction_s(baud, bits_of(framing), "holding", REGISTERS, TURNAROUND_S)
    timeout_ms = math.ceil(theory_s * 2e3) + 20
    with tempfile.TemporaryDirectory(prefix="bus_rate_") as tmp:
        folder = Path(tmp)
        wire_peer = start_wire(wire, folder / "line", baud, framing)
        slaves = start_slaves(folder / "line" / "device", baud, framing)
        try:
            baseline = await pymodbus_baseline(folder / "line" / "master", baud, duration_s / 2)
            bus = {"name": "line", "type": "rtu", "port": folder / "line" / "master", "baud": baud,
                   "data_bits": framing[0], "parity": framing[1], "stop_bits": framing[2]}  # fmt: skip
            site = site_file(folder, buses=[bus], units=[*LIVE_UNITS, DEAD_UNIT], registers=REGISTERS,
                             poll_interval_ms=10, timeout_ms=timeout_ms)  # fmt: skip
            ours = await fieldwatch(site, duration_s)
        finally:
            slaves.stop()
            wire_peer.stop()
    theory = 1 / theory_s
    return {
        "speed": f"{baud} {framing}",
        "theory_per_s": round(theory, 2),
        "baseline_pymodbus": baseline | {"x_theory": round(baseline["per_s"] / theory, 3)},
        "fieldwatch": ours | {"x_theory": round(ours["per_s_bus_time"] / theory, 3)},
        "timeout_ms": timeout_ms,
        "wire": wire_peer.last_stats(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration-s", type=float, default=20.0, help="FieldWatch's run per speed")
    ap.add_argument("--wire", default="project", help="project, shared, or a path to a compatible script")
    ap.add_argument("--speeds", default="", help="a subset, like 115200-8N1,9600-8N1")
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop, as the agent does")
    args = ap.parse_args()
    if args.uvloop:
        import uvloop  # noqa: PLC0415 - only with --uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    quiet_pymodbus_logging()  # a late answer after a cancelled read is counted, not printed
    speeds: list[tuple[int, str]] = list(SPEEDS)
    if args.speeds:
        speeds = [(int(b), f) for b, _, f in (s.partition("-") for s in args.speeds.split(","))]
    load_before = load_average()
    rows = [asyncio.run(one_speed(args.wire, baud, framing, args.duration_s)) for baud, framing in speeds]
    print(f"wire: {args.wire}; 7 live slaves + 1 dead, {REGISTERS} holding registers, turnaround "
          f"{TURNAROUND_S * 1e3:.0f} ms; load average before {load_before}, after {load_average()}"
          )  # fmt: skip
    print(f"{'speed':<13} {'theory/s':>9} {'pymodbus/s':>11} {'x':>6} {'FieldWatch/s':>13} {'x':>6} "
          f"{'raw/s':>7} {'dead s':>7} {'p50 ms':>7} {'edge CPU':>8}")  # fmt: skip
    for r in rows:
        b, f = r["baseline_pymodbus"], r["fieldwatch"]
        print(f"{r['speed']:<13} {r['theory_per_s']:>9} {b['per_s']:>11} {b['x_theory']:>6} "
              f"{f['per_s_bus_time']:>13} {f['x_theory']:>6} {f['per_s_raw']:>7} {f['dead_slave_s']:>7} "
              f"{f['latency_ms']['p50']:>7} {f['cpu_share']:>8.1%}")  # fmt: skip
    print(
        "FieldWatch/s: good answers from live slaves per second with the dead slave's time taken out; "
        "x: against theory (target >= 0.97)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"wire": args.wire, "load_average": load_average(), "rows": rows},
                                  indent=2))  # fmt: skip
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
