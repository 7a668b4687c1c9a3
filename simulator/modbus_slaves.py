"""Simulated Modbus slaves on pymodbus's own server: TCP on a local port, RTU on a serial port.

A ``SlaveMemory`` is one device: four tables (holding, input, coil, discrete) that Python code sets at any
time, addresses that answer a Modbus exception, a ``max_registers_per_read`` beyond which a read answers
exception 3 (illegal data value, as devices with a small buffer do), a ``silent`` switch (the device never
answers), and an ``on_read`` hook for values that change with every read. ``serve_tcp`` and ``serve_rtu``
put several of them behind one pymodbus server, as on a TCP gateway or an RS-485 line::

    slaves = [SlaveMemory(1), SlaveMemory(2)]
    slaves[0].set_registers("holding", 0, [1, 2, 3])
    slaves[1].set_exception("holding", 10, 2)          # reading holding 10 answers "illegal address"
    async with serve_tcp(slaves) as server:            # 127.0.0.1, a free port: server.port
        ...

How it sits on pymodbus 3.16 (the simulator is allowed pymodbus; this is its one setup module): each slave
is a ``SimDevice`` with four one-block tables sized like the memory; its ``action`` (called before every
access) raises configured exceptions, runs ``on_read`` and copies the memory into pymodbus's registers, so
the memory here is the truth. A catch-all device 0 answers unknown unit ids, and the server's
``trace_packet`` hook swallows every answer from a unit that is not ours or is silent: on a real bus a
missing slave says nothing. ``one_connection=True`` makes a TCP server that, like many small devices,
closes every connection beyond the first.

Run it alone (the benchmarks do, to keep the slaves' CPU out of the edge's process)::

    python -m simulator.modbus_slaves tcp --port 5020 --units 1-10 --registers 50 --changing
    python -m simulator.modbus_slaves rtu --serial /tmp/bus1/device --baud 19200 --framing 8E1 --units 1-8

Over 400 lines because it is also a program (``python -m simulator.modbus_slaves``) whose command
line builds the same slaves the tests use.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Literal

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

Kind = Literal["holding", "input", "coil", "discrete"]
KINDS: tuple[Kind, ...] = ("holding", "input", "coil", "discrete")
KIND_OF_FUNCTION: dict[int, Kind] = {
    1: "coil", 5: "coil", 15: "coil",
    2: "discrete",
    3: "holding", 6: "holding", 16: "holding", 22: "holding", 23: "holding",
    4: "input",
}  # fmt: skip
CATCH_ALL_UNIT = 0


class SlaveMemory:
    """One simulated Modbus device (see the module docstring)."""

    def __init__(self, unit_id: int, *, registers: int = 200, bits: int = 256) -> None:
        if not 1 <= unit_id <= 247:
            raise ValueError(f"unit id must be 1-247 (got {unit_id})")
        if registers < 1 or bits < 16 or bits % 16:
            raise ValueError("need at least one register and a positive multiple of 16 bits")
        self.unit_id = unit_id
        self.registers: dict[Kind, list[int]] = {"holding": [0] * registers, "input": [0] * registers}
        self.bits: dict[Kind, list[bool]] = {"coil": [False] * bits, "discrete": [False] * bits}
        self.exceptions: dict[tuple[Kind, int], int] = {}
        self.silent = False
        self.max_registers_per_read: int | None = None
        self.on_read: Callable[[SlaveMemory, Kind, int, int], None] | None = None
        self.reads = 0

    def set_registers(self, kind: Kind, address: int, values: Sequence[int]) -> None:
        table = self.registers[kind]
        if address < 0 or address + len(values) > len(table):
            raise IndexError(f"{kind} {address}+{len(values)} is outside 0-{len(table) - 1}")
        if any(not 0 <= v <= 0xFFFF for v in values):
            raise ValueError("register values are 0-65535")
        table[address : address + len(values)] = list(values)

    def set_bits(self, kind: Kind, address: int, values: Sequence[bool]) -> None:
        table = self.bits[kind]
        if address < 0 or address + len(values) > len(table):
            raise IndexError(f"{kind} {address}+{len(values)} is outside 0-{len(table) - 1}")
        table[address : address + len(values)] = [bool(v) for v in values]

    def set_exception(self, kind: Kind, address: int, code: int) -> None:
        """Any read that covers ``address`` answers exception ``code`` (1-255)."""
        if not 0 < code <= 0xFF:
            raise ValueError(f"exception codes are 1-255 (got {code})")
        self.exceptions[(kind, address)] = code

    def clear_exceptions(self) -> None:
        self.exceptions.clear()

    # ---------------------------------------------------------------- pymodbus side

    def exception_for(self, kind: Kind, address: int, count: int) -> int:
        for (k, a), code in self.exceptions.items():
            if k == kind and address <= a < address + count:
                return code
        return 0

    def sim_device(self) -> SimDevice:
        regs = len(self.registers["holding"])
        nbits = len(self.bits["coil"])

        def reg_block() -> list[SimData]:
            return [SimData(0, count=regs, values=0, datatype=DataType.REGISTERS)]

        def bit_block() -> list[SimData]:
            return [SimData(0, values=[False] * nbits, datatype=DataType.BITS)]

        return SimDevice(
            id=self.unit_id,
            simdata=(bit_block(), bit_block(), reg_block(), reg_block()),
            action=self._action,
        )

    async def _action(  # noqa: PLR0917 - pymodbus's SimAction signature
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        kind = KIND_OF_FUNCTION.get(function_code)
        if kind is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if set_values is not None:
            self._write(kind, address, set_values)
            return None
        bit_count = count * 16 if kind in ("coil", "discrete") else count
        limit = self.max_registers_per_read
        if limit is not None and kind in ("holding", "input") and count > limit:
            return ExcCodes.ILLEGAL_VALUE
        if code := self.exception_for(kind, address, bit_count):
            return ExcCodes(code) if code in ExcCodes._value2member_map_ else ExcCodes.DEVICE_FAILURE
        self.reads += 1
        if self.on_read is not None:
            self.on_read(self, kind, address, bit_count)
        if kind in ("holding", "input"):
            offset = address - start_address
            current[offset : offset + count] = self.registers[kind][address : address + count]
        else:
            bits = self.bits[kind]
            first = address // 16
            for r in range(first, first + count):
                word = 0
                for i, bit in enumerate(bits[r * 16 : r * 16 + 16]):
                    word |= int(bit) << i
                current[r - start_address] = word
        return None

    def _write(self, kind: Kind, address: int, values: list[int] | list[bool]) -> None:
        if kind in ("holding", "input"):
            self.set_registers(kind, address, [int(v) for v in values])
        else:
            self.set_bits(kind, address, [bool(v) for v in values])


def _catch_all() -> SimDevice:
    return SimDevice(
        id=CATCH_ALL_UNIT,
        simdata=(
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
        ),
    )


class SlaveServer:
    """Several ``SlaveMemory`` behind one running pymodbus server; counts what it saw."""

    def __init__(self, slaves: Sequence[SlaveMemory]) -> None:
        units = [s.unit_id for s in slaves]
        if len(set(units)) != len(units):
            raise ValueError(f"unit ids must be unique (got {units})")
        self.slaves = {s.unit_id: s for s in slaves}
        self.server: ModbusTcpServer | ModbusSerialServer | None = None
        self.host = ""
        self.port = 0
        self.connections = 0
        self.refused_connections = 0
        self.answers_swallowed = 0
        self._unit_byte = 0  # where the unit id sits in an answer: 0 for RTU, 6 for TCP (after MBAP)

    def devices(self) -> list[SimDevice]:
        return [_catch_all(), *(s.sim_device() for s in self.slaves.values())]

    def trace_packet(self, sending: bool, data: bytes) -> bytes:
        if not sending or len(data) <= self._unit_byte:
            return data
        slave = self.slaves.get(data[self._unit_byte])
        if slave is None or slave.silent:
            self.answers_swallowed += 1
            return b""
        return data

    def trace_connect(self, connected: bool) -> None:
        if connected:
            self.connections += 1

    def statistics(self) -> dict[str, Any]:
        return {
            "connections": self.connections,
            "refused_connections": self.refused_connections,
            "answers_swallowed": self.answers_swallowed,
            "reads_by_unit": {u: s.reads for u, s in self.slaves.items()},
        }

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.shutdown()  # type: ignore[no-untyped-call]
            self.server = None


class _Refuse(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class _TcpServer(ModbusTcpServer):
    """pymodbus's TCP server, optionally closing every connection beyond the first."""

    owner: SlaveServer
    one_connection = False

    def handle_new_connection(self) -> Any:
        if self.one_connection and self.active_connections:
            self.owner.refused_connections += 1
            return _Refuse()
        return super().handle_new_connection()


@contextlib.asynccontextmanager
async def serve_tcp(
    slaves: Sequence[SlaveMemory], host: str = "127.0.0.1", port: int = 0, *, one_connection: bool = False
) -> AsyncIterator[SlaveServer]:
    """A Modbus TCP server for ``slaves`` on ``host``; ``port=0`` picks a free port (``server.port``)."""
    owner = SlaveServer(slaves)
    owner._unit_byte = 6
    server = _TcpServer(
        owner.devices(),
        address=(host, port),
        trace_packet=owner.trace_packet,
        trace_connect=owner.trace_connect,
    )
    server.owner = owner
    server.one_connection = one_connection
    owner.server = server
    await server.serve_forever(background=True)
    sockets = getattr(server.transport, "sockets", None) or []
    owner.host, owner.port = host, int(sockets[0].getsockname()[1]) if sockets else port
    try:
        yield owner
    finally:
        await owner.stop()


@contextlib.asynccontextmanager
async def serve_rtu(
    slaves: Sequence[SlaveMemory],
    serial_path: str,
    *,
    baud: int = 19200,
    data_bits: int = 8,
    parity: str = "N",
    stop_bits: int = 1,
) -> AsyncIterator[SlaveServer]:
    """A Modbus RTU server for ``slaves`` on the serial port ``serial_path`` (a wire's device side)."""
    owner = SlaveServer(slaves)
    if is_pseudo_terminal(serial_path):
        data_bits, parity = 8, "N"  # Linux ptys refuse parity and 7 data bits; the wire models the timing
    server = ModbusSerialServer(
        owner.devices(),
        port=serial_path,
        baudrate=baud,
        bytesize=data_bits,
        parity=parity,
        stopbits=stop_bits,
        trace_packet=owner.trace_packet,
        reconnect_delay=0.5,
    )
    owner.server = server
    owner.host = serial_path
    await server.serve_forever(background=True)
    try:
        yield owner
    finally:
        await owner.stop()


def is_pseudo_terminal(path: str) -> bool:
    """True for a Unix98 pseudo-terminal (``/dev/pts/N``), directly or through a link."""
    return os.path.realpath(path).startswith("/dev/pts/")


# ---------------------------------------------------------------------- values that change


def ramp(slave: SlaveMemory, kind: Kind, address: int, count: int) -> None:
    """``on_read`` hook: every register read moves by one (wrapping), so each answer differs."""
    if kind in ("holding", "input"):
        table = slave.registers[kind]
        for i in range(address, address + count):
            table[i] = (table[i] + 1) & 0xFFFF


# ---------------------------------------------------------------------- command line


def parse_units(text: str) -> list[int]:
    """``1-3,7`` -> [1, 2, 3, 7]."""
    units: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        units += range(int(lo), int(hi or lo) + 1)
    return units


def build_slaves(
    units: Sequence[int],
    registers: int,
    changing: bool,
    settings: Sequence[str] = (),
    max_read: int | None = None,
) -> list[SlaveMemory]:
    """Slaves whose register i holds ``unit * 1000 + i``, then ``settings`` (``apply_setting``) applied;
    ``max_read``: a longer read of registers answers exception 3."""
    slaves = []
    for unit in units:
        slave = SlaveMemory(unit, registers=max(registers, 1))
        slave.max_registers_per_read = max_read
        slave.set_registers("holding", 0, [(unit * 1000 + i) & 0xFFFF for i in range(registers)])
        slave.set_registers("input", 0, [(unit * 1000 + i) & 0xFFFF for i in range(registers)])
        if changing:
            slave.on_read = ramp
        slaves.append(slave)
    by_unit = {s.unit_id: s for s in slaves}
    for setting in settings:
        apply_setting(by_unit, setting)
    return slaves


def apply_setting(slaves: dict[int, SlaveMemory], setting: str) -> None:
    """``UNIT:KIND:ADDRESS=V[,V...]`` sets registers (or bits, 0/1); ``V`` may be hex (``0x41C8``)."""
    try:
        target, _, values = setting.partition("=")
        unit, kind, address = target.split(":")
        numbers = [int(v, 0) for v in values.split(",")]
        slave = slaves[int(unit)]
        if kind in ("holding", "input"):
            slave.set_registers(kind, int(address), numbers)  # type: ignore[arg-type]
        elif kind in ("coil", "discrete"):
            slave.set_bits(kind, int(address), [bool(v) for v in numbers])  # type: ignore[arg-type]
        else:
            raise ValueError(f"unknown kind {kind!r}")
    except (ValueError, KeyError, IndexError) as e:
        raise SystemExit(f"--set {setting}: expected UNIT:KIND:ADDRESS=V[,V...] ({e})") from None


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    units = parse_units(args.units)
    async with contextlib.AsyncExitStack() as stack:
        servers = []
        if args.mode == "tcp":
            for i in range(args.endpoints):
                slaves = build_slaves(units, args.registers, args.changing, args.set, args.max_read)
                port = args.port + i if args.port else 0
                server = await stack.enter_async_context(
                    serve_tcp(slaves, args.host, port, one_connection=args.one_connection)
                )
                servers.append(server)
                print(f"endpoint {server.host}:{server.port} units {args.units}", flush=True)
        else:
            framing = args.framing
            server = await stack.enter_async_context(
                serve_rtu(
                    build_slaves(units, args.registers, args.changing, args.set, args.max_read),
                    args.serial,
                    baud=args.baud,
                    data_bits=int(framing[0]),
                    parity=framing[1],
                    stop_bits=int(framing[2]),
                )
            )
            servers.append(server)
        print(f"listening on {', '.join(f'{s.host}:{s.port}' for s in servers)}", flush=True)
        await stop.wait()
    for server in servers:
        print(server.statistics(), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m simulator.modbus_slaves", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    tcp = sub.add_parser("tcp", help="a Modbus TCP server")
    tcp.add_argument("--host", default="127.0.0.1")
    tcp.add_argument("--port", type=int, default=5020, help="first port (0: free ports)")
    tcp.add_argument("--endpoints", type=int, default=1, help="servers on consecutive ports, same units")
    tcp.add_argument("--one-connection", action="store_true", help="close connections beyond the first")
    rtu = sub.add_parser("rtu", help="a Modbus RTU server on a serial port")
    rtu.add_argument("--serial", required=True, help="serial port path (a wire's device side)")
    rtu.add_argument("--baud", type=int, default=19200)
    rtu.add_argument("--framing", default="8N1", help="data bits, parity, stop bits: 8N1, 8E1 ...")
    for p in (tcp, rtu):
        p.add_argument("--units", default="1", help="unit ids: 1-8,10")
        p.add_argument("--registers", type=int, default=100, help="holding and input registers per unit")
        p.add_argument("--changing", action="store_true", help="every read moves the registers it reads")
        p.add_argument("--set", action="append", default=[], metavar="UNIT:KIND:ADDRESS=V[,V...]",
                       help="set registers or bits of one unit (repeatable); V may be hex")  # fmt: skip
        p.add_argument("--max-read", type=int, default=None, metavar="N",
                       help="a longer read of registers answers exception 3 (illegal value)")  # fmt: skip
    asyncio.run(_serve(ap.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
