"""``fieldwatch-edge probe``: read one Modbus device once with a profile, to check the wiring.

    fieldwatch-edge probe --profile gas_lel_catalytic --serial /dev/ttyUSB0 --baud 9600 --parity N --unit 1
    fieldwatch-edge probe --profile radar_level_transmitter --tcp 192.168.10.21:502 --unit 1 --json

Every read of the profile's plan is sent once (no retries), and every point is printed: its value (text
for string points), unit, quality, and the raw registers it came from in hex (bits as 0/1), so a
technician can tell a wrong word order or scale from a wrong address. A read that fails shows why
(timeout, exception code, broken answer) on each of its points, and hints point at the fix: when nothing
answers at all, what to check (unit id, address, baud rate and parity); when a read of several registers
answers exception 3, that the device refuses reads that long and which profile key sets the limit.

``--word-orders`` adds a table: every 32- and 64-bit point decoded in all four word orders, each value
inside the point's ``physical_range`` marked ``*``, so the order the device uses stands out (a float read in
the wrong order is often a tiny denormal such as 2.358e-41: in range, but never marked).

Exit status: 0 when every read was answered (an exception response is an answer: the wiring works);
1 when a read got no answer or a broken one, or the port or host could not be opened; 2 for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from typing import Any

from edge.acquisition.modbus_client import (
    ModbusLink,
    ReadResult,
    ReadStatus,
    quiet_pymodbus_logging,
    rtu_link,
    tcp_link,
)
from edge.acquisition.modbus_plan import (
    ILLEGAL_DATA_VALUE,
    PreparedRequest,
    compile_device,
    refused_read_hint,
)
from edge.cli.poll import format_value
from edge.siteconfig import load_profile
from protocols.codecs import apply_scale, decode
from protocols.config import BoundDevice
from protocols.errors import RemoteProtocolError
from protocols.profile import BIT_KINDS, ModbusProfile, WordOrder
from protocols.quality import Quality, describe, with_exception_code
from protocols.site import Device, RtuBus, TcpBus

WIDE_TYPES = ("int32", "uint32", "float32", "int64", "uint64", "float64")
NAME = "probe"
HELP = "read one Modbus device once with a profile and print every point with its raw registers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", required=True, help="a shipped profile's name, or a profile file")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", metavar="HOST:PORT", help="a Modbus TCP device or gateway")
    where.add_argument("--serial", metavar="PATH", help="a serial port with the device on it (Modbus RTU)")
    parser.add_argument("--baud", type=int, default=19200)
    parser.add_argument("--parity", choices=("N", "E", "O"), default="E")
    parser.add_argument("--data-bits", type=int, choices=(7, 8), default=8)
    parser.add_argument("--stop-bits", type=int, choices=(1, 2), default=1)
    parser.add_argument("--unit", type=int, help="Modbus unit id (default: the profile's)")
    parser.add_argument("--timeout-ms", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    parser.add_argument(
        "--word-orders",
        action="store_true",
        help="also decode every 32- and 64-bit point in all four word orders, marking values in range",
    )


def run(args: argparse.Namespace) -> int:
    quiet_pymodbus_logging()
    profile = load_profile(args.profile)  # a ConfigError becomes exit status 2 in edge.cli.main
    if not isinstance(profile, ModbusProfile):
        print(f"fieldwatch-edge probe: {args.profile} speaks {profile.protocol}, not modbus", file=sys.stderr)
        return 2
    try:
        device = _bound_device(args, profile)
    except ValueError as e:
        print(f"fieldwatch-edge probe: {e}", file=sys.stderr)
        return 2
    probed = asyncio.run(_probe(args, device))
    rows = [row for prepared, result in probed for row in _rows(device, prepared, result)]
    hints = _hints(args, device, probed) + _tiny_float_hint(profile, rows, args.word_orders)
    orders = word_order_rows(profile, probed) if args.word_orders else None
    if args.json:
        document: dict[str, Any] = {
            "device": _where(args),
            "unit": device.unit_id,
            "points": rows,
            "hints": hints,
        }
        if orders is not None:
            document["word_orders"] = orders
        print(json.dumps(document, indent=2))
    else:
        print_table(rows, f"{profile.model} at {_where(args)} unit {device.unit_id}")
        if orders is not None:
            print_word_orders(orders, profile.modbus.word_order)
        for hint in hints:
            print(f"\nhint: {hint}")
    answered = all(result.status in (ReadStatus.OK, ReadStatus.EXCEPTION) for _, result in probed)
    return 0 if answered else 1


def _bound_device(args: argparse.Namespace, profile: ModbusProfile) -> BoundDevice:
    """A one-device bus for the planner, from the command line (pydantic checks the values)."""
    dev = Device(id="probe", profile=args.profile, unit_id=args.unit)
    bus: RtuBus | TcpBus
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--tcp wants HOST:PORT (got {args.tcp!r})")
        bus = TcpBus(type="tcp", name="probe", host=host, port=int(port), timeout_ms=args.timeout_ms,
                     devices=(dev,))  # fmt: skip
    else:
        bus = RtuBus(type="rtu", name="probe", port=args.serial, baud=args.baud, parity=args.parity,
                     data_bits=args.data_bits, stop_bits=args.stop_bits, timeout_ms=args.timeout_ms,
                     devices=(dev,))  # fmt: skip
    return BoundDevice(bus, dev, args.profile, profile)


def _where(args: argparse.Namespace) -> str:
    return (
        str(args.tcp)
        if args.tcp
        else f"{args.serial} {args.baud} {args.data_bits}{args.parity}{args.stop_bits}"
    )


async def _probe(args: argparse.Namespace, device: BoundDevice) -> list[tuple[PreparedRequest, ReadResult]]:
    timeout_s = args.timeout_ms / 1000
    bus = device.bus
    link: ModbusLink
    if isinstance(bus, TcpBus):
        link = tcp_link(bus.host, bus.port, timeout_s=timeout_s)
    else:
        assert isinstance(bus, RtuBus)
        link = rtu_link(bus.port, baud=bus.baud, data_bits=bus.data_bits, parity=bus.parity,
                        stop_bits=bus.stop_bits, timeout_s=timeout_s)  # fmt: skip
    probed = []
    try:
        connected = await link.connect(timeout_s)
        for prepared in compile_device(device):
            r = prepared.request
            if connected:
                result = await link.read(r.unit_id, r.kind, r.address, r.count, timeout_s)
            else:
                result = ReadResult(ReadStatus.DISCONNECTED, detail=f"cannot open {_where(args)}")
            probed.append((prepared, result))
    finally:
        link.close()
    return probed


def _hints(
    args: argparse.Namespace, device: BoundDevice, probed: list[tuple[PreparedRequest, ReadResult]]
) -> list[str]:
    """What the failures most likely mean, once each."""
    hints = []
    statuses = {result.status for _, result in probed}
    if statuses == {ReadStatus.TIMEOUT}:
        hints.append(
            f"no answer from unit {device.unit_id} at {_where(args)} within {args.timeout_ms} ms: check the "
            "unit id (`--unit`), the address and, for RTU, the baud rate and parity (`--baud`, `--parity`)"
        )
    profile = device.profile
    assert isinstance(profile, ModbusProfile)
    for prepared, result in probed:
        if result.status is ReadStatus.EXCEPTION and result.exception_code == ILLEGAL_DATA_VALUE:
            hint = refused_read_hint(prepared, profile.model, profile)
            if hint is not None:
                hints.append(hint.removeprefix(f"{prepared.device_id}: "))
    return hints


def _rows(device: BoundDevice, p: PreparedRequest, result: ReadResult) -> list[dict[str, Any]]:
    """One row per point of the request, in address order."""
    profile = device.profile
    assert isinstance(profile, ModbusProfile)
    units = {pt.name: pt.unit for pt in profile.points}
    values: dict[str, Any] = {}
    qualities: dict[str, int] = {}
    failure = _failure_quality(result)
    if failure is None and result.words is not None and p.decoder is not None:
        try:
            decoded, decoded_quality = p.decoder.decode(result.words)
            for i, name in enumerate(p.point_names):
                values[name], qualities[name] = float(decoded[i]), int(decoded_quality[i])
        except RemoteProtocolError:
            failure = int(Quality.BAD_FRAME)
    if failure is None and result.words is not None and p.text_points:
        for name, text in p.decode_text([int(w) for w in result.words]).items():
            values[name] = text
            qualities[name] = 0 if text is not None else int(Quality.BAD_FRAME)  # not ASCII
    bits = p.request.kind in BIT_KINDS
    why = "" if result.status is ReadStatus.OK else (result.detail or result.status.value)
    if result.status is ReadStatus.EXCEPTION:
        why = ""  # the code is in the quality text already
    rows = []
    for planned in p.request.points:
        words = result.words[planned.offset : planned.offset + planned.count] if result.words else []
        raw = " ".join(str(int(w)) if bits else f"0x{int(w):04X}" for w in words)
        value = values.get(planned.name)
        quality = qualities.get(planned.name, 0) if failure is None else failure
        rows.append({
            "point": planned.name,
            "value": None if isinstance(value, float) and math.isnan(value) else value,
            "unit": units[planned.name],
            "quality": quality,
            "quality_text": describe(quality) + (f" ({why})" if why else ""),
            "raw": raw,
            "read": f"{p.request.kind} {p.request.address}+{p.request.count}",
        })  # fmt: skip
    return rows


def _failure_quality(result: ReadResult) -> int | None:
    if result.status is ReadStatus.OK:
        return None
    if result.status is ReadStatus.EXCEPTION:
        code = result.exception_code
        return with_exception_code(code) if 0 < code <= 0xFF else int(Quality.DEVICE_EXCEPTION)
    return int(Quality.BAD_FRAME if result.status is ReadStatus.BAD_FRAME else Quality.COMM_ERROR)


def print_table(rows: list[dict[str, Any]], title: str) -> None:
    print(title)
    cells = [("point", "value", "unit", "quality", "raw")]
    for r in rows:
        cells.append((r["point"], format_value(r["value"]), r["unit"], r["quality_text"], r["raw"] or "-"))
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    for row in cells:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])


# ---------------------------------------------------------------- --word-orders

WORD_ORDERS: tuple[WordOrder, ...] = ("ABCD", "CDAB", "BADC", "DCBA")
TINY = 1e-30  # below this a float is almost surely bytes read in the wrong order (a denormal)


def word_order_rows(
    profile: ModbusProfile, probed: list[tuple[PreparedRequest, ReadResult]]
) -> list[dict[str, Any]]:
    """Every 32- and 64-bit point of the answered reads, decoded in the four orders."""
    points = {p.name: p for p in profile.points}
    out = []
    for prepared, result in probed:
        if result.status is not ReadStatus.OK or result.words is None:
            continue
        words = [int(w) for w in result.words]
        for planned in prepared.request.points:
            point = points[planned.name]
            if point.type not in WIDE_TYPES:
                continue
            raw = words[planned.offset : planned.offset + planned.count]
            decoded = {}
            for order in WORD_ORDERS:
                value = apply_scale(float(decode(raw, point.type, order)), point.scale, point.offset)
                decoded[order] = {"value": value if math.isfinite(value) else None,
                                  "plausible": _plausible(value, point.physical_range)}  # fmt: skip
            out.append({
                "point": point.name, "type": point.type, "unit": point.unit,
                "physical_range": None if point.physical_range is None else list(point.physical_range),
                "profile_order": point.word_order or profile.modbus.word_order,
                "orders": decoded,
            })  # fmt: skip
    return out


def _tiny_float_hint(profile: ModbusProfile, rows: list[dict[str, Any]], shown: bool) -> list[str]:
    """A float read as a denormal (2.3e-41) is the classic sign of the wrong word order."""
    floats = {p.name for p in profile.points if p.type in ("float32", "float64")}
    tiny = [
        f"{r['point']} ({format_value(r['value'])})"
        for r in rows
        if r["point"] in floats and isinstance(r["value"], float) and 0 < abs(r["value"]) < TINY
    ]
    if not tiny:
        return []
    where = "the table above shows" if shown else "`--word-orders` shows"
    return [
        f"{', '.join(tiny)}: a float this close to zero is almost always read in the wrong word order; "
        f"{where} the point in all four"
    ]


def _plausible(value: float, physical_range: tuple[float, float] | None) -> bool:
    if physical_range is None or not math.isfinite(value) or 0 < abs(value) < TINY:
        return False
    return physical_range[0] <= value <= physical_range[1]


def print_word_orders(rows: list[dict[str, Any]], default_order: str) -> None:
    print("\nword orders (* inside physical_range; > the profile's order)")
    if not rows:
        print("  no 32- or 64-bit point was read")
        return
    cells = [("point", "type", "range", *WORD_ORDERS)]
    for r in rows:
        rng = r["physical_range"]
        shown = [
            (">" if order == r["profile_order"] else " ")
            + format_value(d["value"])
            + (" *" if d["plausible"] else "")
            for order, d in r["orders"].items()
        ]
        cells.append((r["point"], r["type"], "-" if rng is None else f"{rng[0]:g}..{rng[1]:g}", *shown))
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    for row in cells:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    if any(r["physical_range"] is None for r in rows):
        print("(a point without physical_range is never marked: judge its values yourself)")
