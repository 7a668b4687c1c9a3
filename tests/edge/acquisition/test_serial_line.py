"""Serial line sensors through real pseudo-terminals: NMEA and a polled text sensor, a port that vanishes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import AsyncIterator
from datetime import time as clock_time
from pathlib import Path

import numpy as np
import pytest

from edge.acquisition import Acquisition
from edge.clock import Clock
from edge.pipeline import ListSink
from edge.siteconfig import load_site
from protocols.config import BoundSite
from protocols.geodesy import EnuFrame
from protocols.nmea import build_sentence, format_gga, format_rmc
from protocols.quality import Quality
from tests.edge.acquisition.conftest import SyncedClock, write_site
from tests.support.waiting import until

ORIGIN = (30.1, 117.2, 250.0)
NMEA_PROFILE = """
model: test_rover
protocol: nmea
nmea: {accept_fix_quality: [4], sample_interval_ms: 0}
points:
  - {name: north, field: north_mm, unit: mm}
  - {name: east, field: east_mm, unit: mm}
  - {name: up, field: up_mm, unit: mm}
  - {name: horizontal, field: horizontal_mm, unit: mm, physical_range: [0, 1000]}
  - {name: fix, field: fix_quality}
  - {name: sats, field: satellites, unit: count}
  - {name: speed, field: speed_m_s, unit: m/s}
"""
LINE_PROFILE = r"""
model: test_ascii
protocol: line
poll_interval_ms: 100
line:
  poll_command: "READ\r\n"
  pattern: 'T=(?P<t>[-0-9.]+) RH=(?P<rh>[0-9.]+)'
points:
  - {name: temperature, group: t, unit: degC, physical_range: [-40, 60]}
  - {name: humidity, group: rh, unit: "%RH", scale: 0.1}
"""


class PtySensor:
    """A sensor on a pseudo-terminal at ``path``: it can be unplugged (the path vanishes) and plugged back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.master = -1
        self.slave = -1
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path.symlink_to(os.ttyname(self.slave))

    def unplug(self) -> None:
        self.path.unlink()
        for fd in (self.master, self.slave):
            os.close(fd)
        self.master = self.slave = -1

    def write(self, data: bytes) -> None:
        if self.master >= 0:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(self.master, data)

    def read(self) -> bytes:
        try:
            return os.read(self.master, 1024)
        except (BlockingIOError, OSError):
            return b""


def gga(north_mm: float, east_mm: float, up_mm: float, fix: int, sats: int = 14) -> bytes:
    lat, lon, height = EnuFrame(ORIGIN).geodetic(north_mm, east_mm, up_mm)
    fields = format_gga(utc_time=clock_time(8, 0, 0), latitude_deg=lat, longitude_deg=lon, fix_quality=fix,
                        satellites=sats, hdop=0.7, altitude_m=height)  # fmt: skip
    return build_sentence("GN", "GGA", fields)


def nmea_site(tmp_path: Path, port: Path) -> BoundSite:
    bus = f"""
  - name: gnss
    type: serial_line
    port: {port}
    baud: 115200
    reopen_max_s: 1
    devices:
      - id: rover
        profile: test_rover
        origin: {{latitude_deg: {ORIGIN[0]}, longitude_deg: {ORIGIN[1]}, altitude_m: {ORIGIN[2]}}}
"""
    return load_site(write_site(tmp_path, bus, {"test_rover": NMEA_PROFILE}))


@contextlib.asynccontextmanager
async def running(site: BoundSite, clock: Clock) -> AsyncIterator[tuple[Acquisition, ListSink]]:
    sink = ListSink()
    acquisition = Acquisition(site, sink, clock)
    task = asyncio.create_task(acquisition.run())
    try:
        yield acquisition, sink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def feeding(sensor: PtySensor, chunks: list[bytes], every_s: float = 0.02) -> AsyncIterator[None]:
    """Write ``chunks`` over and over, as a receiver that pushes its sentences."""

    async def feed() -> None:
        while True:
            for chunk in chunks:
                sensor.write(chunk)
                await asyncio.sleep(every_s)

    task = asyncio.create_task(feed())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def values_of(site: BoundSite, sink: ListSink, point: str) -> tuple[np.ndarray, np.ndarray]:
    readings = sink.readings()
    mask = readings.channel == site.channel_index()[f"gw/rover/{point}"]
    return readings.value[mask], readings.quality[mask]


async def test_nmea_sentences_become_displacements_with_fix_qualities(tmp_path: Path) -> None:
    sensor = PtySensor(tmp_path / "gnss")
    site = nmea_site(tmp_path, sensor.path)
    rmc = build_sentence("GN", "RMC", format_rmc(utc_time=clock_time(8, 0, 0), status="A", latitude_deg=30.1,
                                                 longitude_deg=117.2, speed_m_s=0.5))  # fmt: skip
    good = gga(100.0, -50.0, 10.0, fix=4)
    stream = [
        b"\x00\xffboot banner\r\n",  # garbage
        good,
        good[:20],  # cut short: the next sentence starts inside it
        gga(2000.0, 0.0, 0.0, fix=4),  # horizontal beyond its physical range (1000 mm)
        good.replace(b"*", b"0*"),  # checksum no longer matches
        gga(120.0, -50.0, 10.0, fix=5),  # RTK float: not trusted on this slope
        gga(0.0, 0.0, 0.0, fix=0),  # no fix
        rmc,
    ]
    async with running(site, SyncedClock()) as (acquisition, sink):
        await until(lambda: acquisition.statistics()["gnss"]["opens"] == 1, what="port opened")
        async with feeding(sensor, stream):
            await until(lambda: len(values_of(site, sink, "fix")[0]) >= 8, what="two rounds of sentences")
        stats = acquisition.statistics()["gnss"]
    north, north_q = values_of(site, sink, "north")
    east, _ = values_of(site, sink, "east")
    up, _ = values_of(site, sink, "up")
    horizontal, horizontal_q = values_of(site, sink, "horizontal")
    fix, fix_q = values_of(site, sink, "fix")
    cycle = fix[:4].tolist()
    assert cycle == [4, 4, 5, 0]
    assert north[0] == pytest.approx(100.0, abs=0.5) and east[0] == pytest.approx(-50.0, abs=0.5)
    assert up[0] == pytest.approx(10.0, abs=0.5)
    assert horizontal[0] == pytest.approx(111.8, abs=0.5) and horizontal_q[0] == 0
    assert horizontal_q[1] == Quality.OUT_OF_RANGE
    assert north[2] == pytest.approx(120.0, abs=0.5) and north_q[2] == Quality.DEGRADED
    assert np.isnan(north[3]) and north_q[3] == Quality.SENSOR_FAULT
    assert set(fix_q.tolist()) == {0}  # the fix itself is a fact, not a fault
    speed, speed_q = values_of(site, sink, "speed")
    assert speed[0] == pytest.approx(0.5, abs=0.001) and speed_q[0] == 0
    decoder = stats["decoder"]
    assert decoder["bad_checksum"] >= 1 and decoder["garbage_bytes"] >= 1 and decoder["not_a_sentence"] >= 1
    assert sink.events == []


async def test_a_port_that_vanishes_is_reopened_with_backoff(tmp_path: Path) -> None:
    sensor = PtySensor(tmp_path / "gnss")
    site = nmea_site(tmp_path, sensor.path)
    async with running(site, SyncedClock()) as (acquisition, sink):
        async with feeding(sensor, [gga(10.0, 0.0, 0.0, fix=4)]):
            await until(lambda: len(values_of(site, sink, "north")[0]) >= 3, what="first fixes")
            sensor.unplug()  # the USB adapter is pulled: the device node disappears
            await until(lambda: len(sink.events) == 1, what="the offline event")
            await asyncio.sleep(0.3)  # reopening fails while the port is away
            sensor.plug()
            await until(lambda: len(sink.events) == 2, what="the recovery event")
            count = len(values_of(site, sink, "north")[0])
            await until(lambda: len(values_of(site, sink, "north")[0]) > count + 2, what="fixes again")
        stats = acquisition.statistics()["gnss"]
    offline, online = sink.events
    assert (offline.channel, offline.level, offline.message) == (
        "gw/rover/_device",
        2,
        "device offline: 1 consecutive failures (port lost)",
    )
    assert (online.level, online.previous_level) == (0, 2)
    assert stats["port_lost"] == 1 and stats["opens"] == 2 and stats["open_failures"] >= 1
    assert stats["restarts"] == 0
    _, quality = values_of(site, sink, "north")
    assert Quality.COMM_ERROR in quality.tolist() and quality[-1] == 0


async def test_a_silent_sensor_goes_offline_on_the_fast_forwarded_clock(tmp_path: Path) -> None:
    sensor = PtySensor(tmp_path / "gnss")
    site = nmea_site(tmp_path, sensor.path)
    clock = SyncedClock(speed=50.0)  # the 10 s silence limit passes in 0.2 s
    async with running(site, clock) as (acquisition, sink):
        async with feeding(sensor, [gga(10.0, 0.0, 0.0, fix=4)]):
            await until(lambda: len(values_of(site, sink, "north")[0]) >= 2, what="first fixes")
        await until(lambda: len(sink.events) == 1, what="offline after the silence")
        async with feeding(sensor, [gga(10.0, 0.0, 0.0, fix=4)]):
            await until(lambda: len(sink.events) == 2, what="back")
        stats = acquisition.statistics()["gnss"]
    assert sink.events[0].message == "device offline: 1 consecutive silent periods (no values)"
    assert stats["silences"] >= 1 and stats["port_lost"] == 0


async def test_a_polled_text_sensor_is_asked_and_its_lines_decoded(tmp_path: Path) -> None:
    sensor = PtySensor(tmp_path / "mast")
    bus = f"""
  - name: mast
    type: serial_line
    port: {sensor.path}
    baud: 19200
    devices: [{{id: wx, profile: test_ascii}}]
"""
    site = load_site(write_site(tmp_path, bus, {"test_ascii": LINE_PROFILE}))
    answers = iter([b"T=21.5 RH=553\r\n", b"garbled\r\n", b"T=99.0 RH=100\r\n"] * 10)
    asked = 0

    async def answer() -> None:
        nonlocal asked
        while True:
            if b"READ\r\n" in sensor.read():
                asked += 1
                sensor.write(next(answers))
            await asyncio.sleep(0.005)

    async with running(site, SyncedClock()) as (acquisition, sink):
        responder = asyncio.create_task(answer())
        try:
            await until(lambda: len(sink.blocks) >= 4, what="four decoded lines")
        finally:
            responder.cancel()
        stats = acquisition.statistics()["mast"]
    readings = sink.readings()
    index = site.channel_index()
    t = readings.value[readings.channel == index["gw/wx/temperature"]]
    tq = readings.quality[readings.channel == index["gw/wx/temperature"]]
    rh = readings.value[readings.channel == index["gw/wx/humidity"]]
    assert t[:2].tolist() == [21.5, 99.0] and tq[:2].tolist() == [0, Quality.OUT_OF_RANGE]
    assert rh[:2].tolist() == pytest.approx([55.3, 10.0])
    assert asked >= 5
    assert stats["decoder"]["unmatched"] >= 1
