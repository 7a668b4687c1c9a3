"""``fieldwatch-edge poll SITE.yaml [--duration-s N] [--json]``: run the acquisition alone and print it.

Every bus of the site is polled exactly as the agent would (same tasks, schedule, retries and offline
backoff), but readings go to the terminal instead of detection and the outbox. Each reading is one line:

    2025-06-01T08:00:00.123Z  tf-gw01/gas-01/gas  12.5 %LEL  good

A device's text points (model, firmware, serial number: ``type: string``) print as one line when read
and whenever they change:

    2025-06-01T08:00:00.123Z  tf-gw01/gas-01  model=GD-4 firmware=2.1.7

With ``--json`` each reading is a JSON object on its own line (``{"channel", "ts_ms", "value",
"quality", "quality_text"}``; NaN is ``null``), each device event ``{"event": {...}}``, text points
``{"attributes": {"device", "ts_ms", "values"}}`` and the final statistics ``{"statistics": {...}}``.
The statistics (per bus and device: requests, good answers, timeouts, failures to connect, exceptions by
code, CRC and frame errors, latency p50/p95, skipped slots, utilisation, the device's state) are printed at
the end: after ``--duration-s`` seconds, or on Ctrl-C.

Exit status 0; 2 for a bad site file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

from edge.acquisition import Acquisition
from edge.acquisition.modbus_client import quiet_pymodbus_logging
from edge.clock import Clock
from edge.siteconfig import load_site
from protocols.config import BoundSite
from protocols.quality import describe, exception_text
from protocols.records import Event, ReadingBlock

NAME = "poll"
HELP = "poll the site's buses without detection or uplink, printing readings and statistics"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("site", metavar="SITE.yaml", help="the gateway's site file")
    parser.add_argument("--duration-s", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text")


class PrintingSink:
    """Writes every reading and event as it arrives."""

    def __init__(self, site: BoundSite, out: TextIO, as_json: bool) -> None:
        self.channels = site.channels
        self.gateway_id = site.gateway_id
        self.out = out
        self.as_json = as_json

    def put_readings(self, block: ReadingBlock) -> None:
        lines = []
        for channel, ts_ms, value, quality in zip(
            block.channel.tolist(), block.ts_ms.tolist(), block.value.tolist(), block.quality.tolist(),
            strict=True,
        ):  # fmt: skip
            c = self.channels[channel]
            if self.as_json:
                record = {"channel": c.key, "ts_ms": ts_ms, "value": _finite(value), "quality": quality,
                          "quality_text": describe(quality)}  # fmt: skip
                lines.append(json.dumps(record))
            else:
                shown = f"{format_value(value)} {c.unit}".rstrip()
                lines.append(f"{_iso(ts_ms)}  {c.key}  {shown}  {describe(quality)}")
        print("\n".join(lines), file=self.out, flush=True)

    def put_attributes(self, device_id: str, attributes: dict[str, str | None]) -> None:
        ts_ms = int(time.time() * 1000)
        device = f"{self.gateway_id}/{device_id}"
        if self.as_json:
            record = {"device": device, "ts_ms": ts_ms, "values": attributes}
            print(json.dumps({"attributes": record}), file=self.out, flush=True)
        else:
            shown = " ".join(f"{name}={'-' if text is None else text}" for name, text in attributes.items())
            print(f"{_iso(ts_ms)}  {device}  {shown}", file=self.out, flush=True)

    def put_event(self, event: Event) -> None:
        if self.as_json:
            record = {
                "channel": event.channel,
                "ts_ms": event.ts_ms,
                "rule": event.rule,
                "level": event.level,
                "previous_level": event.previous_level,
                "message": event.message,
            }
            print(json.dumps({"event": record}), file=self.out, flush=True)
        else:
            change = f"level {event.previous_level}->{event.level}"
            line = f"{_iso(event.ts_ms)}  EVENT {event.channel} {event.rule} {change}: {event.message}"
            print(line, file=self.out, flush=True)


def run(args: argparse.Namespace) -> int:
    if args.duration_s is not None and args.duration_s <= 0:
        print("fieldwatch-edge poll: --duration-s must be > 0", file=sys.stderr)
        return 2
    quiet_pymodbus_logging()
    site = load_site(args.site)
    sink = PrintingSink(site, sys.stdout, args.json)
    acquisition = Acquisition(site, sink, Clock(), on_attributes=sink.put_attributes)
    asyncio.run(_poll(acquisition, args.duration_s))
    stats = acquisition.statistics()
    if args.json:
        print(json.dumps({"statistics": stats}))
    else:
        print_statistics(stats, sys.stdout)
    return 0


async def _poll(acquisition: Acquisition, duration_s: float | None) -> None:
    task = asyncio.create_task(acquisition.run(duration_s))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def print_statistics(stats: dict[str, Any], out: TextIO) -> None:
    print("\nstatistics", file=out)
    header = f"{'bus / device':<28} {'req':>6} {'good':>6} {'tmo':>5} {'noconn':>6} {'exc':>5} {'crc':>4} " \
             f"{'frame':>5} {'p50 ms':>8} {'p95 ms':>8}  notes"  # fmt: skip
    print(header, file=out)
    for name, bus in stats.items():
        if bus.get("type") == "serial_line":
            notes = " ".join(f"{k}={bus[k]}" for k in ("opens", "port_lost", "values", "silences"))
            print(f"{name:<28} serial line {bus['endpoint']}: {notes}", file=out)
            continue
        notes = f"utilisation {bus['utilisation']:.0%}  skipped slots {bus['skipped_slots']}"
        if bus["disconnected"] and not bus["connected"]:
            notes += f"  cannot connect to {bus['endpoint']}"
        print(_row(name, bus, notes), file=out)
        for device, d in bus["devices"].items():
            print(_row(f"  {device}", d, _device_state(d)), file=out)


def _device_state(d: dict[str, Any]) -> str:
    """online; OFFLINE (and why: no connection, timeouts); FAULT with the exceptions it answers."""
    if not d["online"]:
        why = "no connection" if d["disconnected"] and not d["good"] and not d["timeouts"] else ""
        return f"OFFLINE ({why})" if why else "OFFLINE"
    if d.get("faulty"):
        codes = ", ".join(exception_text(int(code)) for code in d["exceptions"])
        return f"FAULT: {codes}"
    return "online"


def _row(label: str, c: dict[str, Any], notes: str) -> str:
    latency = c["latency_ms"]
    p50 = "-" if latency["p50"] is None else f"{latency['p50']:.2f}"
    p95 = "-" if latency["p95"] is None else f"{latency['p95']:.2f}"
    counts = (c["requests"], c["good"], c["timeouts"], c["disconnected"], sum(c["exceptions"].values()),
              c["crc_errors"], c["frame_errors"])  # fmt: skip
    cells = " ".join(f"{n:>{w}}" for n, w in zip(counts, (6, 6, 5, 6, 5, 4, 5), strict=True))
    return f"{label:<28} {cells} {p50:>8} {p95:>8}  {notes}"


def format_value(value: float | str | None) -> str:
    """Integers in full (a 32-bit counter must not print as 1.3114e+08), other numbers to 10 digits."""
    if value is None or isinstance(value, str):
        return "-" if value is None else value
    if math.isnan(value):
        return "-"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return f"{value:.10g}"


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _finite(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else value
