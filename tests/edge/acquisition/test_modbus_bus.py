"""Bus tasks end to end: site file -> Acquisition -> ListSink, against pymodbus's servers and the wire."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from edge.acquisition import Acquisition
from edge.clock import Clock
from edge.pipeline import ListSink
from edge.siteconfig import load_site
from protocols.codecs import encode
from protocols.config import BoundSite
from protocols.quality import Quality, exception_code, with_exception_code
from protocols.records import ReadingBlock
from simulator.modbus_slaves import SlaveMemory, ramp, serve_rtu, serve_tcp
from simulator.rs485wire import Rs485Wire, WireSettings
from tests.edge.acquisition.conftest import UnsyncedClock, write_site
from tests.support.waiting import until


def typed_slave(unit: int) -> SlaveMemory:
    slave = SlaveMemory(unit)
    words = [*encode(-123, "int16"), *encode(12.5, "float32", "CDAB"), *encode(70000, "uint32", "DCBA"),
             *encode(455, "uint16"), 0, *encode("SN42", "string", length_registers=4)]  # fmt: skip
    slave.set_registers("holding", 0, words)
    slave.set_bits("coil", 0, [True])
    return slave


def block_slave(unit: int) -> SlaveMemory:
    slave = SlaveMemory(unit)
    slave.set_registers("holding", 0, [unit * 100 + i for i in range(10)])
    return slave


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
    assert task.done()


def channel_rows(site: BoundSite, sink: ListSink, key: str) -> ReadingBlock:
    readings = sink.readings()
    mask = readings.channel == site.channel_index()[key]
    return ReadingBlock(
        readings.channel[mask], readings.ts_ms[mask], readings.value[mask], readings.quality[mask]
    )


def tcp_bus(port: int, devices: str, extra: str = "") -> str:
    return f"""
  - name: tcp
    type: tcp
    host: 127.0.0.1
    port: {port}
    timeout_ms: 200
{extra}    devices:
{devices}"""


async def test_tcp_values_are_decoded_stamped_and_flagged(tmp_path: Path, clock: Clock) -> None:
    slave = typed_slave(1)
    async with serve_tcp([slave]) as server:
        site = load_site(
            write_site(tmp_path, tcp_bus(server.port, "      - {id: dev, profile: test_typed}\n"))
        )
        before_ms = clock.now_ms()
        async with running(site, clock) as (acquisition, sink):
            await until(lambda: len(channel_rows(site, sink, "gw/dev/level")) >= 3, what="three polls")
            slave.set_registers("holding", 1, encode(25.0, "float32", "CDAB"))  # beyond physical range 0-20
            slave.set_registers("holding", 5, encode(0xFFFF, "uint16"))  # gas: nan sentinel
            slave.set_exception("coil", 0, 2)
            await until(lambda: channel_rows(site, sink, "gw/dev/level").value[-1] == 25.0, what="new level")
            await until(lambda: channel_rows(site, sink, "gw/dev/relay").quality[-1] != 0, what="exception")
        after_ms = clock.now_ms()
    first = {
        key: channel_rows(site, sink, f"gw/dev/{key}") for key in ("temp", "level", "count", "gas", "relay")
    }
    assert [first[k].value[0] for k in ("temp", "level", "count", "gas", "relay")] == [
        -12.3,
        12.5,
        70000,
        45.5,
        1,
    ]
    assert all(first[k].quality[0] == 0 for k in first)
    level = first["level"]
    assert level.quality[-1] == Quality.OUT_OF_RANGE  # the value is kept, flagged
    assert np.isnan(first["gas"].value[-1]) and first["gas"].quality[-1] == Quality.NOT_AVAILABLE
    relay = first["relay"]
    assert relay.quality[-1] == with_exception_code(2) and exception_code(int(relay.quality[-1])) == 2
    assert np.isnan(relay.value[-1])
    stamps = sink.readings().ts_ms
    assert before_ms <= stamps.min() and stamps.max() <= after_ms
    assert np.all(np.diff(level.ts_ms) >= 0)
    stats = acquisition.statistics()["tcp"]
    assert stats["exceptions"] == {"2": stats["devices"]["dev"]["exceptions"]["2"]}
    assert stats["good"] > 0 and stats["timeouts"] == 0 and stats["latency_ms"]["p50"] is not None
    assert not any(block.channel.size == 0 for block in sink.blocks)


async def test_a_dead_device_goes_offline_once_and_the_bus_keeps_its_rate(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.acquisition")
    alive, dead = block_slave(1), block_slave(2)
    alive.on_read = ramp  # every read moves its registers: each poll must bring a new value
    dead.silent = True
    devices = "      - {id: alive, profile: test_block, unit_id: 1}\n      - {id: dead, profile: test_block, unit_id: 2}\n"
    extra = "    retries: 1\n    offline_after_failures: 2\n    offline_retry_s: 0.5\n"
    async with serve_tcp([alive, dead]) as server:
        site = load_site(write_site(tmp_path, tcp_bus(server.port, devices, extra)))
        async with running(site, clock) as (acquisition, sink):
            await until(lambda: len(sink.events) == 1, what="the offline event")
            offline_at = time.monotonic()
            alive_before = len(channel_rows(site, sink, "gw/alive/r0"))
            await asyncio.sleep(1.0)
            alive_during = len(channel_rows(site, sink, "gw/alive/r0")) - alive_before
            stats = acquisition.statistics()["tcp"]["devices"]["dead"]
            dead.silent = False
            await until(lambda: len(sink.events) == 2, what="the recovery event")
    offline, online = sink.events
    assert (offline.channel, offline.level, offline.previous_level) == ("gw/dead/_device", 2, 0)
    assert offline.message == "device offline: 2 consecutive timeouts"
    assert (online.channel, online.level, online.previous_level) == ("gw/dead/_device", 0, 2)
    assert stats["online"] is False and stats["times_offline"] == 1
    # While offline the dead device costs one request per retry, so the live one keeps polling at 20 ms:
    assert alive_during >= 20, f"only {alive_during} polls of the live device in a second offline"
    assert stats["requests"] <= 4 + 2 * (time.monotonic() - offline_at) / 0.45 + 2
    alive_values = channel_rows(site, sink, "gw/alive/r0").value
    assert np.all(np.diff(alive_values) == 1)  # one read per poll, none lost or repeated
    dead_rows = channel_rows(site, sink, "gw/dead/r5")
    assert Quality.COMM_ERROR in dead_rows.quality.tolist()  # every point of the device says so
    assert dead_rows.quality[-1] == 0 and dead_rows.value[-1] == 205.0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r for r in caplog.records if r.levelno == logging.INFO and r.name == "edge.acquisition.health"]
    assert len(warnings) == 1 and "dead" in warnings[0].getMessage()
    assert len(infos) == 1


async def test_rtu_bus_polls_every_unit_through_the_wire_and_counts_crc_apart(
    tmp_path: Path, clock: Clock
) -> None:
    settings = WireSettings(baud=115200, bits_per_char=10, turnaround_s=0.001, dead_units=frozenset({9}),
                            corrupt_rate=0.15, seed=3)  # fmt: skip
    with Rs485Wire(tmp_path / "line", settings) as wire:
        async with serve_rtu([block_slave(1), block_slave(2)], wire.device_path, baud=115200):
            bus = f"""
  - name: rs485
    type: rtu
    port: {wire.master_path}
    baud: 115200
    parity: N
    timeout_ms: 60
    retries: 0
    offline_after_failures: 3
    offline_retry_s: 30
    devices:
      - {{id: one, profile: test_block, unit_id: 1}}
      - {{id: two, profile: test_block, unit_id: 2}}
      - {{id: nine, profile: test_block, unit_id: 9}}
"""
            site = load_site(write_site(tmp_path, bus))
            async with running(site, clock) as (acquisition, sink):
                await until(lambda: acquisition.statistics()["rs485"]["crc_errors"] >= 3, what="crc errors")
                await until(lambda: len(channel_rows(site, sink, "gw/two/r9")) >= 20, what="unit 2 polls")
                stats = acquisition.statistics()["rs485"]
    assert stats["restarts"] == 0 and stats["connected"]
    one, two, nine = (stats["devices"][d] for d in ("one", "two", "nine"))
    assert nine["online"] is False and nine["good"] == 0 and nine["timeouts"] == 3
    assert one["crc_errors"] + two["crc_errors"] + one["frame_errors"] + two["frame_errors"] >= 3
    assert (
        one["timeouts"] + two["timeouts"] <= wire.statistics()["dropped"] + 2
    )  # CRC errors are not timeouts
    rows = channel_rows(site, sink, "gw/two/r9")
    good = rows.quality == 0
    assert set(rows.value[good].tolist()) == {209.0}
    assert set(rows.quality[~good].tolist()) <= {Quality.BAD_FRAME, Quality.COMM_ERROR}
    assert set(channel_rows(site, sink, "gw/nine/r0").quality.tolist()) == {Quality.COMM_ERROR}
    assert [e.channel for e in sink.events] == ["gw/nine/_device"]


async def test_a_tcp_endpoint_that_goes_away_is_reconnected(tmp_path: Path, clock: Clock) -> None:
    extra = "    retries: 0\n    offline_after_failures: 2\n    offline_retry_s: 0.2\n"
    async with serve_tcp([block_slave(1)]) as server:
        port = server.port
        site = load_site(
            write_site(tmp_path, tcp_bus(port, "      - {id: dev, profile: test_block}\n", extra))
        )
        async with running(site, clock) as (acquisition, sink):
            await until(lambda: len(sink.blocks) >= 3, what="first polls")
            await server.stop()  # the device is switched off
            await until(lambda: len(sink.events) == 1, what="offline after the server went away")
            async with serve_tcp([block_slave(1)], port=port):  # and on again
                await until(lambda: len(sink.events) == 2, what="back online")
    assert [e.level for e in sink.events] == [2, 0]
    stats = acquisition.statistics()["tcp"]
    assert stats["disconnected"] >= 2 and stats["connects"] >= 2 and stats["restarts"] == 0


async def test_endpoints_poll_concurrently_over_one_connection_each(tmp_path: Path, clock: Clock) -> None:
    async with (
        serve_tcp([block_slave(1)], one_connection=True) as a,
        serve_tcp([block_slave(1)], one_connection=True) as b,
    ):
        buses = f"""
  - {{name: tcp-a, type: tcp, host: 127.0.0.1, port: {a.port}, devices: [{{id: dev-a, profile: test_block}}]}}
  - {{name: tcp-b, type: tcp, host: 127.0.0.1, port: {b.port}, devices: [{{id: dev-b, profile: test_block}}]}}
"""
        site = load_site(write_site(tmp_path, buses))
        async with running(site, clock) as (acquisition, sink):
            await until(lambda: min(len(channel_rows(site, sink, f"gw/dev-{x}/r0")) for x in "ab") >= 10,
                        what="both endpoints")  # fmt: skip
            names = {t.get_name() for t in asyncio.all_tasks()}
        assert (a.connections, a.refused_connections, b.connections, b.refused_connections) == (1, 0, 1, 0)
    assert {"bus tcp-a", "bus tcp-b"} <= names
    assert set(acquisition.statistics()) == {"tcp-a", "tcp-b"}


async def test_readings_stamped_on_an_unsynchronised_clock_say_so(tmp_path: Path) -> None:
    async with serve_tcp([block_slave(1)]) as server:
        site = load_site(
            write_site(tmp_path, tcp_bus(server.port, "      - {id: dev, profile: test_block}\n"))
        )
        async with running(site, UnsyncedClock()) as (_, sink):
            await until(lambda: len(sink.blocks) >= 2, what="two polls")
    quality = sink.readings().quality
    assert set(quality.tolist()) == {Quality.CLOCK_UNSYNC}


async def test_a_device_answering_only_exceptions_becomes_a_device_fault(
    tmp_path: Path, clock: Clock
) -> None:
    """Issue 11: exception 4 (or 11 from a gateway) on every read used to leave the device "online"."""
    slave = block_slave(1)
    slave.set_exception("holding", 0, 4)
    async with serve_tcp([slave]) as server:
        extra = "    offline_after_failures: 3\n"
        site = load_site(
            write_site(tmp_path, tcp_bus(server.port, "      - {id: dev, profile: test_block}\n", extra))
        )
        async with running(site, clock) as (acquisition, sink):
            await until(lambda: len(sink.events) == 1, what="the device fault")
            reads_at_fault = slave.reads
            faulty = acquisition.statistics()["tcp"]["devices"]["dev"]
            slave.clear_exceptions()
            await until(lambda: len(sink.events) == 2, what="the fault cleared")
    fault, cleared = sink.events
    assert (fault.channel, fault.rule, fault.level, fault.previous_level) == (
        "gw/dev/_device",
        "exception",
        2,
        0,
    )
    assert (
        fault.message
        == "device fault: 3 consecutive exception responses, exception 4 (server device failure)"
    )
    assert (cleared.rule, cleared.level, cleared.previous_level) == ("exception", 0, 2)
    assert reads_at_fault == 0  # every read was refused, none served
    assert faulty["faulty"] is True and faulty["online"] is True and faulty["exceptions"] == {"4": 3}
    assert acquisition.statistics()["tcp"]["devices"]["dev"]["faulty"] is False


async def test_an_exception_three_to_a_long_read_names_the_limit(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    slave = block_slave(1)
    slave.max_registers_per_read = 4  # the device's buffer: the profile reads 10 at once
    async with serve_tcp([slave]) as server:
        site = load_site(
            write_site(tmp_path, tcp_bus(server.port, "      - {id: dev, profile: test_block}\n"))
        )
        async with running(site, clock) as (_, sink):
            await until(lambda: len(sink.blocks) >= 3, what="three refused reads")
    hints = [r.getMessage() for r in caplog.records if "max_registers_per_read" in r.getMessage()]
    assert hints == [
        "dev: the read of 10 registers from holding 0 answered exception 3 (illegal data value): devices "
        "answer this to a read longer than they support; set modbus.max_registers_per_read below 10 in "
        "profile test_block (now 125; the datasheet gives the limit)"
    ], "one hint per read, not one per poll"


async def test_going_offline_gives_each_point_one_failure_reading(tmp_path: Path, clock: Clock) -> None:
    """A refused port fails every read at once: the reads before the offline event had their readings
    already, so the event's sweep gives only the points still without one (it used to stamp them twice)."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    extra = "    retries: 0\n    offline_after_failures: 2\n    offline_retry_s: 60\n"  # its two reads
    site = load_site(write_site(tmp_path, tcp_bus(port, "      - {id: dev, profile: test_typed}\n", extra)))
    async with running(site, clock) as (_, sink):
        await until(lambda: len(sink.events) == 1, what="the offline event")
        await asyncio.sleep(0.2)  # polls keep their schedule: nothing more until the retry in 60 s
    readings = sink.readings()
    device_channels = {i for key, i in site.channel_index().items() if key.startswith("gw/dev/")}
    assert sorted(readings.channel.tolist()) == sorted(device_channels)  # each point exactly once
    assert np.all(readings.quality & Quality.COMM_ERROR)


async def test_text_points_become_device_attributes(tmp_path: Path, clock: Clock) -> None:
    slave = typed_slave(1)
    async with serve_tcp([slave]) as server:
        site = load_site(
            write_site(tmp_path, tcp_bus(server.port, "      - {id: dev, profile: test_typed}\n"))
        )
        seen: list[tuple[str, dict[str, str | None]]] = []
        acquisition = Acquisition(site, ListSink(), clock, on_attributes=lambda d, a: seen.append((d, a)))
        task = asyncio.create_task(acquisition.run(duration_s=0.5))
        await until(lambda: len(seen) >= 1, what="the serial number")
        slave.set_registers("holding", 7, encode("SN43", "string", length_registers=4))
        await until(lambda: len(seen) >= 2, what="the new serial number")
        await task
    assert seen == [("dev", {"serial": "SN42"}), ("dev", {"serial": "SN43"})]  # once each, not every poll
    stats = acquisition.statistics()["tcp"]
    assert stats["devices"]["dev"]["attributes"] == {"serial": "SN43"}
    assert stats["connected"] is True, "a poll that ended well was connected, not 'closed'"
