"""A running scenario: every device on its real transport, and the timeline played on the story's clock.

``serve(loaded, options, emit, stop)`` starts, per bus of the scenario's site:

- ``rtu``: an RS-485 wire (``simulator.rs485wire``: real line timing between two ptys) with one pymodbus
  RTU server behind it answering for every device on the bus by unit id;
- ``tcp``: one pymodbus TCP server on a free local port, answering for every device by unit id (a
  serial-to-Ethernet gateway, or a device of its own);
- ``serial_line``: a pty with the GNSS receiver (NMEA) or the line sensor on it.

It then writes the gateway's site file (``simulator.scenario.site_document``), reports ``ready`` with
where everything is, and plays the timeline: notes are reported, the simulator's own faults are done here
(a dead slave stops answering, CRC noise flips bits on the wire, a serial line garbles), and the demo's
faults (uplink cut, gateway reboot) are announced for the demo to do. Every report is one dict passed to
``emit``; ``fieldwatch-sim`` prints them, as JSON lines with ``--json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocols.config import BoundDevice
from protocols.profile import LineProfile, ModbusProfile, NmeaProfile
from protocols.site import RtuBus, SerialLineBus, TcpBus
from simulator.clock import SimClock
from simulator.gnss_receiver import GnssReceiver
from simulator.line_sensor import LineSensor
from simulator.modbus_device import ModbusDevice
from simulator.modbus_slaves import SlaveServer, serve_rtu, serve_tcp
from simulator.models import DeviceModel
from simulator.pty_line import PtyLine
from simulator.rs485wire import Rs485Wire, WireSettings
from simulator.scenario import Endpoints, Loaded, bind_document, device_models, site_document, write_site
from simulator.spec import CrcNoise, DeadSlave, Fault, GarbledLine, GatewayReboot, Note, UplinkCut

Emit = Callable[[dict[str, Any]], None]
SLAVE_TURNAROUND_S = 0.003  # a small transmitter's processing time before it answers


@dataclass(frozen=True)
class Options:
    workdir: Path
    seed: int = 1
    speed: float = 60.0
    hold: bool = False
    uplink_url: str = "http://127.0.0.1:8080/"
    token_env: str = "FIELDWATCH_TOKEN"  # noqa: S105 - the name of a variable, not a secret


class FieldSim:
    """Everything the scenario runs: buses, devices, and the handles the timeline's faults act on."""

    def __init__(self, loaded: Loaded, options: Options, clock: SimClock) -> None:
        self.loaded = loaded
        self.options = options
        self.clock = clock
        self.models: dict[str, DeviceModel] = device_models(loaded, options.seed)
        self.endpoints = Endpoints()
        self.wires: dict[str, Rs485Wire] = {}
        self.servers: dict[str, SlaveServer] = {}
        self.modbus: dict[str, ModbusDevice] = {}
        self.serial: dict[str, GnssReceiver | LineSensor] = {}
        self.lines: list[PtyLine] = []
        self._dead_units: dict[str, set[int]] = {}
        self.site_path = options.workdir / f"{loaded.bound.gateway_id}.yaml"

    def _modbus_devices(self, devices: list[BoundDevice]) -> list[ModbusDevice]:
        out = []
        for bd in devices:
            assert isinstance(bd.profile, ModbusProfile)
            dev = ModbusDevice(
                bd.device.id, bd.profile, self.models[bd.device.id], bd.unit_id, self.clock.now_s
            )
            self.modbus[bd.device.id] = dev
            out.append(dev)
        return out

    async def start(self, stack: contextlib.AsyncExitStack) -> None:
        bus_dir = self.options.workdir / "buses"
        for bus in self.loaded.bound.site.buses:
            devices = self.loaded.bound.devices_on(bus.name)
            if isinstance(bus, RtuBus):
                settings = WireSettings(baud=bus.baud, bits_per_char=bus.bits_per_char,
                                        turnaround_s=SLAVE_TURNAROUND_S, seed=self.options.seed)  # fmt: skip
                wire = Rs485Wire(bus_dir / bus.name, settings).start()
                stack.callback(wire.stop)
                self.wires[bus.name] = wire
                memories = [d.memory for d in self._modbus_devices(devices)]
                self.servers[bus.name] = await stack.enter_async_context(
                    serve_rtu(
                        memories,
                        wire.device_path,
                        baud=bus.baud,
                        data_bits=bus.data_bits,
                        parity=bus.parity,
                        stop_bits=bus.stop_bits,
                    )
                )
                self.endpoints.serial[bus.name] = wire.master_path
            elif isinstance(bus, TcpBus):
                memories = [d.memory for d in self._modbus_devices(devices)]
                server = await stack.enter_async_context(serve_tcp(memories, "127.0.0.1", 0))
                self.servers[bus.name] = server
                self.endpoints.tcp[bus.name] = ("127.0.0.1", server.port)
            else:
                line = PtyLine(bus_dir / bus.name)
                stack.callback(line.close)
                self.lines.append(line)
                self.serial[devices[0].device.id] = self._serial_device(bus, devices[0], line)
                self.endpoints.serial[bus.name] = line.path

    def _serial_device(self, bus: SerialLineBus, bd: BoundDevice, line: PtyLine) -> GnssReceiver | LineSensor:
        spec = self.loaded.scenario.devices.get(bd.device.id)
        model = self.models[bd.device.id]
        if isinstance(bd.profile, NmeaProfile):
            origin = bd.device.origin or bd.device.location
            if origin is None:
                raise ValueError(f"{bd.device.id}: a GNSS receiver needs an origin")
            return GnssReceiver(
                bd.device.id, bd.profile, model,
                origin=(origin.latitude_deg, origin.longitude_deg, origin.altitude_m or 0.0), line=line,
                clock=self.clock, output_interval_s=spec.output_interval if spec else 10.0,
                seed=self.options.seed,
            )  # fmt: skip
        assert isinstance(bd.profile, LineProfile)
        return LineSensor(
            bd.device.id, bd.profile_name, bd.profile, model=model, line=line, clock=self.clock,
            poll_interval_s=bd.poll_interval_ms(bd.profile.points[0]) / 1000,
            response_ms=spec.response_ms if spec else 20.0, seed=self.options.seed,
        )  # fmt: skip

    def write_site_file(self) -> dict[str, Any]:
        o = self.options
        doc = site_document(
            self.loaded.scenario, self.endpoints, uplink_url=o.uplink_url, token_env=o.token_env,
            profiles_base=Path(self.loaded.path).parent,
        )  # fmt: skip
        bind_document(doc, str(self.site_path))  # the generated file must load as the gateway will load it
        write_site(doc, self.site_path, self.loaded.scenario, seed=o.seed, speed=o.speed)
        return doc

    def ready_report(self) -> dict[str, Any]:
        s = self.loaded.scenario
        return {
            "event": "ready", "scenario": s.name, "title": s.title, "gateway": self.loaded.bound.gateway_id,
            "site": self.loaded.bound.site.site.id, "site_file": str(self.site_path),
            "speed": self.options.speed,
            "seed": self.options.seed, "length_s": s.length, "held": not self.clock.running,
            "buses": {**self.endpoints.serial, **{k: f"{h}:{p}" for k, (h, p) in self.endpoints.tcp.items()}},
        }  # fmt: skip

    def statistics(self) -> dict[str, Any]:
        return {
            "wires": {name: w.statistics() for name, w in self.wires.items()},
            "servers": {name: s.statistics() for name, s in self.servers.items()},
            "modbus_devices": {name: d.statistics() for name, d in self.modbus.items()},
            "serial_devices": {name: d.statistics() for name, d in self.serial.items()},
        }

    # ------------------------------------------------------------------ faults

    def set_fault(self, entry: DeadSlave | CrcNoise | GarbledLine, active: bool) -> None:
        if isinstance(entry, DeadSlave):
            wire = self.wires.get(entry.bus)
            if wire is not None:
                dead = self._dead_units.setdefault(entry.bus, set())
                if active:
                    dead.add(entry.unit_id)
                else:
                    dead.discard(entry.unit_id)
                wire.set_dead(dead)
            else:
                for dev in self.modbus.values():
                    on_bus = any(
                        d.device.id == dev.device_id for d in self.loaded.bound.devices_on(entry.bus)
                    )
                    if on_bus and dev.unit_id == entry.unit_id:
                        dev.memory.silent = active
        elif isinstance(entry, CrcNoise):
            wire = self.wires[entry.bus]
            wire.settings = dataclasses.replace(
                wire.settings, corrupt_rate=entry.corrupt_rate if active else 0.0
            )
        else:
            self.serial[entry.device].garbler.active = active


def describe(entry: Note | Fault) -> str:
    """One line for a timeline entry: the note, or what the fault does and why."""
    match entry:
        case Note():
            return entry.note
        case DeadSlave():
            what = f"unit {entry.unit_id} on {entry.bus} stops answering"
        case CrcNoise():
            what = f"interference on {entry.bus}: {entry.corrupt_rate:.0%} of answers corrupted"
        case GarbledLine():
            what = f"{entry.device}'s serial line garbled"
        case UplinkCut():
            what = "uplink cut"
        case GatewayReboot():
            what = "gateway loses power and reboots"
    return f"{what}: {entry.note}" if entry.note else what


async def play_timeline(sim: FieldSim, emit: Emit) -> None:
    """Do every timeline entry at its simulated time, and undo each fault when its ``for`` is over."""
    steps: list[tuple[float, int, Any, bool]] = []
    for i, entry in enumerate(sim.loaded.scenario.timeline):
        steps.append((entry.at, i, entry, True))
        duration = getattr(entry, "for_", None)
        if duration is not None:
            steps.append((entry.at + duration, i, entry, False))
    steps.sort(key=lambda s: (s[0], not s[3], s[1]))
    for at_s, _, entry, starting in steps:
        await sim.clock.sleep_until(at_s)
        report: dict[str, Any] = {"event": "note" if isinstance(entry, Note) else "fault", "t_s": at_s,
                                  "text": describe(entry)}  # fmt: skip
        if not isinstance(entry, Note):
            report |= {"fault": entry.fault, "phase": "start" if starting else "end"}
            if isinstance(entry, UplinkCut | GatewayReboot):
                report["by"] = "demo"
                if isinstance(entry, UplinkCut):
                    report["for_s"] = entry.for_
                else:
                    report["down_s"] = entry.down
            else:
                sim.set_fault(entry, starting)
        emit(report)
    await sim.clock.sleep_until(sim.loaded.scenario.length)
    emit({"event": "story_end", "t_s": sim.loaded.scenario.length})


async def serve(loaded: Loaded, options: Options, emit: Emit, stop: asyncio.Event, go: asyncio.Event) -> None:
    """Run the scenario until ``stop`` is set; ``go`` starts a held story (see the module docstring)."""
    options.workdir.mkdir(parents=True, exist_ok=True)
    clock = SimClock(options.speed, hold=options.hold)
    sim = FieldSim(loaded, options, clock)
    async with contextlib.AsyncExitStack() as stack:
        await sim.start(stack)
        sim.write_site_file()
        emit(sim.ready_report())
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(dev.run(), name=f"device {name}") for name, dev in sim.serial.items()]
            tasks.append(tg.create_task(play_timeline(sim, emit), name="timeline"))

            async def start_when_told() -> None:
                await go.wait()
                if not clock.running:
                    clock.go()
                    emit({"event": "started", "t_s": 0.0})

            tasks.append(tg.create_task(start_when_told(), name="go"))
            if clock.running:
                emit({"event": "started", "t_s": 0.0})
            await stop.wait()
            for task in tasks:
                task.cancel()
        emit({"event": "statistics", **sim.statistics()})
