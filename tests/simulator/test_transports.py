"""The simulated devices on real transports, read back through the edge's own adapters.

A small scenario runs in this process: an RS-485 wire with two slaves behind pymodbus's RTU server, a
TCP server, a GNSS rover and a polled weather sensor on ptys. Held at t = 0, every value is exactly its
model's; then faults are switched on and off and the edge's reads report them as the edge would.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from edge.acquisition.modbus_client import ReadStatus, rtu_link, tcp_link
from edge.acquisition.serial_port import SerialPort
from protocols.codecs import decode
from protocols.framing import NEED_DATA
from protocols.geodesy import EnuFrame
from protocols.lineproto import LineDecoder
from protocols.nmea import NmeaFramer, parse_gga
from protocols.profile import LineProfile
from simulator import scenario as scenarios
from simulator.clock import SimClock
from simulator.runtime import FieldSim, Options
from simulator.spec import CrcNoise, DeadSlave, GarbledLine

ORIGIN = (30.9315834, 117.8261928, 151.236)
SCENARIO = f"""\
name: transports
title: every transport once
length: 1h
starts_at: "10:00"
site:
  gateway: {{id: gw-t}}
  site: {{id: s-t, name: T, type: other, latitude_deg: 30.9, longitude_deg: 117.8}}
  buses:
    - name: bus1
      type: rtu
      baud: 19200
      devices:
        - {{id: temp-1, profile: temperature_transmitter, unit_id: 11}}
        - {{id: gas-1, profile: gas_lel_catalytic, unit_id: 2}}
    - name: tcp1
      type: tcp
      devices:
        - {{id: radar-1, profile: radar_level_transmitter, unit_id: 3}}
    - name: gnss
      type: serial_line
      devices:
        - id: rover
          profile: gnss_nmea_rtk
          origin: {{latitude_deg: {ORIGIN[0]}, longitude_deg: {ORIGIN[1]}, altitude_m: {ORIGIN[2]}}}
    - name: wx
      type: serial_line
      devices:
        - {{id: mast, profile: weather_sensor_ascii}}
devices:
  temp-1:
    points:
      temperature: {{path: [[0, 36.6], [1h, 40]]}}
  gas-1:
    points:
      gas: {{constant: 27.3}}
      alarm_first: {{constant: 1}}
      over_range: {{constant: 1}}
      relay_2: {{constant: 1}}
  radar-1:
    points:
      level: {{constant: 12.345}}
  rover:
    output_interval: 10s
    points:
      north_mm: {{constant: 12.3}}
      east_mm: {{constant: -4.5}}
      up_mm: {{constant: 2.0}}
  mast:
    points:
      air_temperature: {{constant: -3.4}}
      humidity: {{constant: 71.5}}
"""


@pytest.fixture
async def field(tmp_path: Path) -> AsyncIterator[FieldSim]:
    path = tmp_path / "transports.yaml"
    path.write_text(SCENARIO)
    loaded = scenarios.load(str(path))
    sim = FieldSim(
        loaded, Options(workdir=tmp_path / "run", seed=1, speed=3600.0), SimClock(3600.0, hold=True)
    )
    async with contextlib.AsyncExitStack() as stack:
        await sim.start(stack)
        sim.write_site_file()
        yield sim


async def test_rtu_slaves_answer_their_models_through_the_wire(field: FieldSim) -> None:
    link = rtu_link(
        field.endpoints.serial["bus1"], baud=19200, data_bits=8, parity="N", stop_bits=1, timeout_s=0.5
    )
    assert await link.connect(1.0)
    try:
        temp = await link.read(11, "input", 0, 2, 0.5)
        assert temp.status is ReadStatus.OK
        assert temp.words is not None
        assert float(decode(temp.words[:1], "int16")) * 0.1 == pytest.approx(36.6)
        gas = await link.read(2, "holding", 0, 2, 0.5)
        assert gas.words is not None
        assert gas.words[0] * 0.1 == pytest.approx(27.3)
        assert gas.words[1] == 0b100001  # alarm_first (bit 0) and over_range (bit 5) share the status word
        relays = await link.read(2, "coil", 0, 2, 0.5)
        assert relays.words == [False, True]
        assert (await link.read(99, "holding", 0, 1, 0.3)).status is ReadStatus.TIMEOUT  # nobody is 99
    finally:
        link.close()
    stats = field.wires["bus1"].statistics()
    assert stats["requests_by_unit"] == {2: 2, 11: 1, 99: 1}


async def test_tcp_devices_answer_by_unit_id(field: FieldSim) -> None:
    host, port = field.endpoints.tcp["tcp1"]
    link = tcp_link(host, port, timeout_s=1.0)
    assert await link.connect(1.0)
    try:
        level = await link.read(3, "holding", 0, 4, 1.0)
        assert level.words is not None
        assert decode(level.words[:2], "float32", "ABCD") == pytest.approx(12.345, abs=1e-5)
        assert decode(level.words[2:4], "float32", "ABCD") == pytest.approx(18.5 - 12.345, abs=1e-2)
        firmware = await link.read(3, "holding", 100, 4, 1.0)
        assert firmware.words is not None
        assert decode(firmware.words, "string", "ABCD") == "RL-2.07"
    finally:
        link.close()


async def test_dead_slaves_and_crc_noise_show_as_the_edge_sees_them(field: FieldSim) -> None:
    link = rtu_link(
        field.endpoints.serial["bus1"], baud=19200, data_bits=8, parity="N", stop_bits=1, timeout_s=0.3
    )
    tcp = tcp_link(*field.endpoints.tcp["tcp1"], timeout_s=0.3)
    assert await link.connect(1.0)
    assert await tcp.connect(1.0)
    dead = DeadSlave.model_validate({"at": 0, "fault": "dead_slave", "bus": "bus1", "unit_id": 11, "for": 60})
    dead_tcp = DeadSlave.model_validate(
        {"at": 0, "fault": "dead_slave", "bus": "tcp1", "unit_id": 3, "for": 60}
    )
    noise = CrcNoise.model_validate(
        {"at": 0, "fault": "crc_noise", "bus": "bus1", "corrupt_rate": 1.0, "for": 60}
    )
    try:
        field.set_fault(dead, True)
        field.set_fault(dead_tcp, True)
        assert (await link.read(11, "input", 0, 1, 0.3)).status is ReadStatus.TIMEOUT
        assert (await link.read(2, "holding", 0, 1, 0.3)).status is ReadStatus.OK  # the rest of the bus lives
        assert (await tcp.read(3, "holding", 0, 2, 0.3)).status is ReadStatus.TIMEOUT
        field.set_fault(dead, False)
        field.set_fault(dead_tcp, False)
        assert (await link.read(11, "input", 0, 1, 0.3)).status is ReadStatus.OK
        assert (await tcp.read(3, "holding", 0, 2, 0.3)).status is ReadStatus.OK
        field.set_fault(noise, True)
        assert (await link.read(11, "input", 0, 1, 0.3)).status is ReadStatus.BAD_FRAME
        field.set_fault(noise, False)
        assert (await link.read(11, "input", 0, 1, 0.3)).status is ReadStatus.OK
    finally:
        link.close()
        tcp.close()


async def read_until(port: SerialPort, done: Callable[[bytes], bool], max_reads: int = 200) -> None:
    for _ in range(max_reads):
        if done(await port.read(4096, 0.5)):
            return
    raise AssertionError("nothing usable arrived")


async def test_the_rover_prints_its_displacement_as_rtk_fixes(field: FieldSim) -> None:
    port = await SerialPort.open(field.endpoints.serial["gnss"], baud=115200)
    framer = NmeaFramer(128)
    fixes = []

    def got(data: bytes) -> bool:
        framer.feed(data)
        while (s := framer.next_sentence()) is not NEED_DATA:
            if s.kind == "GGA":
                fixes.append(parse_gga(s))
        return len(fixes) >= 3

    try:
        field.clock.go()
        task = asyncio.create_task(field.serial["rover"].run())
        await read_until(port, got)
        task.cancel()
    finally:
        port.close()
    frame = EnuFrame(ORIGIN)
    for fix in fixes:
        assert fix.fix_quality == 4
        assert fix.latitude_deg is not None
        assert fix.longitude_deg is not None
        assert fix.altitude_m is not None
        north, east, up = frame.enu_mm((fix.latitude_deg, fix.longitude_deg, fix.altitude_m))
        assert (north, east, up) == pytest.approx((12.3, -4.5, 2.0), abs=0.5)  # 1e-7 minute is 0.19 mm
    assert framer.statistics()["bad_checksum"] == 0


async def test_a_garbled_rover_line_is_counted_never_decoded(field: FieldSim) -> None:
    """Whatever the damage, a sentence that passes its checksum is one the rover really sent."""
    port = await SerialPort.open(field.endpoints.serial["gnss"], baud=115200)
    framer = NmeaFramer(128)
    good = []
    field.set_fault(
        GarbledLine.model_validate({"at": 0, "fault": "garbled_line", "device": "rover", "for": 1}), True
    )

    def got(data: bytes) -> bool:
        framer.feed(data)
        while (s := framer.next_sentence()) is not NEED_DATA:
            good.append(s)
        return field.serial["rover"].statistics()["garbled"] >= 20

    try:
        field.clock.go()
        task = asyncio.create_task(field.serial["rover"].run())
        await read_until(port, got)
        task.cancel()
    finally:
        port.close()
    stats = framer.statistics()
    assert stats["bad_checksum"] + stats["garbage_bytes"] + stats.get("cut", 0) > 0
    for s in good:
        if s.kind == "GGA":
            fix = parse_gga(s)
            assert fix.latitude_deg is not None
            assert math.isclose(fix.latitude_deg, ORIGIN[0], abs_tol=1e-6)


async def test_the_weather_sensor_answers_its_poll_with_a_line_its_profile_decodes(field: FieldSim) -> None:
    sensor = field.serial["mast"]
    bound = next(d for d in field.loaded.bound.devices if d.device.id == "mast")
    assert isinstance(bound.profile, LineProfile)
    decoder = LineDecoder(bound.profile.line, bound.profile.points)
    task = asyncio.create_task(sensor.run())
    port = await SerialPort.open(field.endpoints.serial["wx"], baud=19200)
    values: list[dict[str, float]] = []

    def got(data: bytes) -> bool:
        decoder.feed(data)
        while (v := decoder.next_values()) is not NEED_DATA:
            values.append(v)
        return bool(values)

    try:
        await port.write(b"0R0\r\n")
        await read_until(port, got)
    finally:
        port.close()
        task.cancel()
    assert values[0]["air_temperature"] == -3.4
    assert values[0]["humidity"] == 71.5
    assert set(values[0]) == {p.name for p in bound.profile.points}
