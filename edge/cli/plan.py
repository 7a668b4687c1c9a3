"""``fieldwatch-edge plan SITE.yaml``: the requests the gateway would send, and each RTU bus's load.

A dry run (Telegraf's idea): nothing is opened. For each bus, each device's read requests as the planner
merged them (unit, function, start address, count, the points each serves, poll interval) and, for RTU
buses, the share of bus time the schedule needs at the bus's baud rate and framing. A load near or over
100 % means the bus cannot keep its poll intervals: slow some points down, raise the baud rate, or split
the bus, before driving out to install it.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from edge.siteconfig import load_site
from protocols.bustiming import bus_load, transaction_s
from protocols.config import BoundDevice, BoundSite
from protocols.planner import ReadRequest, plan_device
from protocols.profile import LineProfile, ModbusProfile, NmeaProfile
from protocols.site import RtuBus, SerialLineBus, TcpBus

NAME = "plan"
HELP = "print each bus's read requests and the estimated load of RTU buses (a dry run: nothing is opened)"
BUSY_LOAD = 0.7  # above this a bus has little room for retries and offline probes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("site", metavar="SITE.yaml", help="the gateway's site file")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of tables")


def run(args: argparse.Namespace) -> int:
    site = load_site(args.site)
    report = plan_site(site)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def _turnaround_s(bus: RtuBus, device: BoundDevice) -> float:
    pause_ms = (
        device.profile.modbus.workarounds.pause_between_requests_ms
        if isinstance(device.profile, ModbusProfile)
        else 0
    )
    return (bus.turnaround_ms + pause_ms) / 1000.0


def _request_row(req: ReadRequest, bus: object, device: BoundDevice) -> dict[str, Any]:
    row: dict[str, Any] = {
        "unit_id": req.unit_id,
        "function": req.function_code,
        "kind": req.kind,
        "address": req.address,
        "count": req.count,
        "poll_interval_ms": req.poll_interval_ms,
        "points": [p.name for p in req.points],
    }
    if isinstance(bus, RtuBus):
        t = transaction_s(bus.baud, bus.bits_per_char, req.kind, req.count, _turnaround_s(bus, device))
        row["transaction_ms"] = round(t * 1000, 2)
    return row


def plan_site(site: BoundSite) -> dict[str, Any]:
    buses = []
    for bus in site.site.buses:
        devices = []
        load = 0.0
        for dev in site.devices_on(bus.name):
            entry: dict[str, Any] = {
                "id": dev.device.id,
                "profile": dev.profile_name,
                "enabled": dev.device.enabled,
            }
            if isinstance(dev.profile, ModbusProfile):
                requests = plan_device(dev)
                entry["requests"] = [_request_row(r, bus, dev) for r in requests]
                if isinstance(bus, RtuBus) and dev.device.enabled:
                    load += bus_load(requests, bus.baud, bus.bits_per_char, _turnaround_s(bus, dev))
            elif isinstance(dev.profile, NmeaProfile | LineProfile):
                entry["stream"] = _stream(dev)
            devices.append(entry)
        row: dict[str, Any] = {"name": bus.name, "type": bus.type, "where": _where(bus), "devices": devices}
        if isinstance(bus, RtuBus):
            row["load"] = round(load, 4)
        buses.append(row)
    return {"gateway": site.gateway_id, "site": site.site.site.id, "buses": buses}


def _stream(dev: BoundDevice) -> dict[str, Any]:
    profile = dev.profile
    if isinstance(profile, NmeaProfile):
        return {"protocol": "nmea", "points": [f"{p.name} <- {p.field}" for p in profile.points],
                "sample_interval_ms": profile.nmea.sample_interval_ms}  # fmt: skip
    assert isinstance(profile, LineProfile)
    return {"protocol": "line", "points": [f"{p.name} <- ({p.group_name})" for p in profile.points],
            "poll_command": profile.line.poll_command,
            "poll_interval_ms": dev.device.poll_interval_ms or profile.poll_interval_ms}  # fmt: skip


def _where(bus: RtuBus | TcpBus | SerialLineBus) -> str:
    if isinstance(bus, TcpBus):
        return f"{bus.host}:{bus.port}"
    return f"{bus.port} {bus.baud} {bus.data_bits}{bus.parity}{bus.stop_bits}"


def print_report(report: dict[str, Any]) -> None:
    print(f"gateway {report['gateway']} (site {report['site']})")
    for bus in report["buses"]:
        print(f"\nbus {bus['name']} ({bus['type']}, {bus['where']})")
        for dev in bus["devices"]:
            off = "" if dev["enabled"] else "  [disabled]"
            print(f"  device {dev['id']} ({dev['profile']}){off}")
            if "requests" in dev:
                _print_requests(dev["requests"])
            else:
                s = dev["stream"]
                extra = (f"sample interval {s['sample_interval_ms']} ms" if s["protocol"] == "nmea"
                         else f"poll command {s['poll_command']!r} every {s['poll_interval_ms']} ms"
                         if s["poll_command"] else "streams on its own")  # fmt: skip
                print(f"    {s['protocol']} stream, {extra}")
                for p in s["points"]:
                    print(f"      {p}")
        if "load" in bus:
            verdict = ("OVERLOADED: the schedule does not fit" if bus["load"] > 1.0
                       else "busy: little room for retries" if bus["load"] > BUSY_LOAD else "ok")  # fmt: skip
            print(f"  estimated bus load: {bus['load'] * 100:.1f} % ({verdict})")


def _print_requests(rows: list[dict[str, Any]]) -> None:
    header = (
        f"    {'unit':>4} {'fc':>2} {'kind':<8} {'address':>7} {'count':>5} {'every':>9} {'tx ms':>6}  points"
    )
    print(header)
    for r in rows:
        tx = f"{r['transaction_ms']:6.2f}" if "transaction_ms" in r else f"{'-':>6}"
        print(f"    {r['unit_id']:>4} {r['function']:>2} {r['kind']:<8} {r['address']:>7} {r['count']:>5} "
              f"{r['poll_interval_ms']:>6} ms {tx}  {', '.join(r['points'])}")  # fmt: skip
