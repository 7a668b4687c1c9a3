"""The pymodbus adapter against real peers: pymodbus's TCP server, and its RTU server behind the wire."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from edge.acquisition.modbus_client import PymodbusLink, ReadDeadlines, ReadStatus, rtu_link, tcp_link
from simulator.modbus_slaves import SlaveMemory, SlaveServer, serve_rtu, serve_tcp
from simulator.rs485wire import Rs485Wire, WireSettings

TIMEOUT_S = 0.3
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def slaves() -> list[SlaveMemory]:
    one, two = SlaveMemory(1), SlaveMemory(2)
    one.set_registers("holding", 0, [10, 11, 12])
    one.set_registers("input", 5, [0xFFFF])
    one.set_bits("coil", 3, [True, False, True])
    two.set_exception("holding", 4, 2)
    return [one, two]


@contextlib.asynccontextmanager
async def raw_tcp_device(handle: Handler) -> AsyncIterator[PymodbusLink]:
    """A TCP device written by hand (``handle`` answers each connection), and a link connected to it."""
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await handle(reader, writer)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    link = tcp_link("127.0.0.1", server.sockets[0].getsockname()[1], timeout_s=TIMEOUT_S)
    try:
        assert await link.connect(2.0)
        yield link
    finally:
        link.close()
        server.close()
        for writer in writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await server.wait_closed()


@pytest.fixture
async def tcp_server() -> AsyncIterator[SlaveServer]:
    async with serve_tcp(slaves()) as server:
        yield server


@pytest.fixture
async def tcp(tcp_server: SlaveServer) -> AsyncIterator[PymodbusLink]:
    link = tcp_link("127.0.0.1", tcp_server.port, timeout_s=TIMEOUT_S)
    assert await link.connect(2.0)
    yield link
    link.close()


@pytest.fixture
def wire(tmp_path: Path) -> Iterator[Rs485Wire]:
    with Rs485Wire(tmp_path / "line", WireSettings(baud=115200, bits_per_char=11, turnaround_s=0.001,
                                                   dead_units=frozenset({9}))) as wire:  # fmt: skip
        yield wire


@pytest.fixture
async def rtu(wire: Rs485Wire) -> AsyncIterator[PymodbusLink]:
    async with serve_rtu(slaves(), wire.device_path, baud=115200, parity="E"):
        link = rtu_link(
            wire.master_path, baud=115200, data_bits=8, parity="E", stop_bits=1, timeout_s=TIMEOUT_S
        )
        assert await link.connect(2.0)
        yield link
        link.close()


async def test_tcp_reads_every_kind(tcp: PymodbusLink) -> None:
    assert (await tcp.read(1, "holding", 0, 3, TIMEOUT_S)).words == [10, 11, 12]
    assert (await tcp.read(1, "input", 5, 1, TIMEOUT_S)).words == [0xFFFF]
    coils = await tcp.read(1, "coil", 2, 4, TIMEOUT_S)
    assert coils.status is ReadStatus.OK
    assert coils.words == [False, True, False, True]


async def test_an_exception_response_carries_its_code(tcp: PymodbusLink) -> None:
    result = await tcp.read(2, "holding", 0, 10, TIMEOUT_S)
    assert (result.status, result.exception_code, result.words) == (ReadStatus.EXCEPTION, 2, None)


async def test_a_silent_unit_times_out_and_the_link_goes_on(
    tcp: PymodbusLink, tcp_server: SlaveServer
) -> None:
    tcp_server.slaves[1].silent = True
    assert (await tcp.read(1, "holding", 0, 1, TIMEOUT_S)).status is ReadStatus.TIMEOUT
    assert (await tcp.read(7, "holding", 0, 1, TIMEOUT_S)).status is ReadStatus.TIMEOUT  # no such unit
    assert (await tcp.read(2, "holding", 0, 2, TIMEOUT_S)).status is ReadStatus.OK
    assert tcp.connected
    assert tcp_server.answers_swallowed == 2


async def test_a_device_that_takes_one_connection_refuses_a_second() -> None:
    async with serve_tcp(slaves(), one_connection=True) as server:
        first = tcp_link("127.0.0.1", server.port, timeout_s=TIMEOUT_S)
        second = tcp_link("127.0.0.1", server.port, timeout_s=TIMEOUT_S)
        try:
            assert await first.connect(2.0)
            assert (await first.read(1, "holding", 0, 1, TIMEOUT_S)).status is ReadStatus.OK
            await second.connect(2.0)
            assert (await second.read(1, "holding", 0, 1, TIMEOUT_S)).status is ReadStatus.DISCONNECTED
            assert (await first.read(1, "holding", 0, 1, TIMEOUT_S)).status is ReadStatus.OK
        finally:
            first.close()
            second.close()
        assert (server.connections, server.refused_connections) == (1, 1)


async def test_a_lost_or_refused_connection_is_reported_not_raised() -> None:
    async with serve_tcp(slaves()) as server:
        port = server.port
        link = tcp_link("127.0.0.1", port, timeout_s=TIMEOUT_S)
        assert await link.connect(2.0)
    try:
        assert (await link.read(1, "holding", 0, 1, TIMEOUT_S)).status is ReadStatus.DISCONNECTED
        assert not await link.connect(2.0)  # nobody listens any more
        assert (await link.read(1, "holding", 0, 1, TIMEOUT_S)).status is ReadStatus.DISCONNECTED
    finally:
        link.close()


async def test_rtu_reads_through_the_wire(rtu: PymodbusLink) -> None:
    assert (await rtu.read(1, "holding", 0, 3, TIMEOUT_S)).words == [10, 11, 12]
    assert (await rtu.read(2, "holding", 0, 5, TIMEOUT_S)).exception_code == 2


async def test_rtu_crc_errors_fail_fast_and_are_counted_apart_from_timeouts(
    rtu: PymodbusLink, wire: Rs485Wire
) -> None:
    wire.corrupt_next(1)
    result = await rtu.read(1, "holding", 0, 3, TIMEOUT_S)
    assert (result.status, result.detail) in {(ReadStatus.BAD_FRAME, "crc"),
                                              (ReadStatus.BAD_FRAME, "incomplete answer")}  # fmt: skip
    wire.truncate_next(1)
    truncated = await rtu.read(1, "holding", 0, 3, TIMEOUT_S)
    assert (truncated.status, truncated.detail) == (ReadStatus.BAD_FRAME, "incomplete answer")
    wire.drop_next(1)
    assert (await rtu.read(1, "holding", 0, 3, TIMEOUT_S)).status is ReadStatus.TIMEOUT
    assert (await rtu.read(9, "holding", 0, 3, TIMEOUT_S)).status is ReadStatus.TIMEOUT  # dead unit
    assert (await rtu.read(1, "holding", 0, 3, TIMEOUT_S)).words == [10, 11, 12]
    counts = rtu.statistics()
    assert counts["crc_errors"] + counts["frame_errors"] == 2
    assert counts["frame_errors"] >= 1
    assert wire.statistics()["swallowed_dead"] == 1


async def test_a_serial_port_that_is_not_there_does_not_connect(tmp_path: Path) -> None:
    link = rtu_link(str(tmp_path / "nothing"), baud=9600, data_bits=8, parity="N", stop_bits=1, timeout_s=0.2)
    assert not await link.connect(1.0)
    assert (await link.read(1, "holding", 0, 1, 0.2)).status is ReadStatus.DISCONNECTED


@pytest.mark.parametrize(
    ("pdu", "detail"),
    [(bytes([3, 10, 0, 1]), "undecodable"), (bytes([3, 3, 0, 1, 2]), "1 of 5 values")],
    ids=["byte count beyond the data", "odd byte count (pymodbus ignores the odd byte)"],
)
async def test_a_device_answering_undecodable_frames_gives_bad_frames_not_errors(
    pdu: bytes, detail: str
) -> None:
    """A hostile TCP device: each answer has a sound MBAP header but a PDU pymodbus cannot decode."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await reader.readexactly(12)
            writer.write(request[:4] + (len(pdu) + 1).to_bytes(2, "big") + request[6:7] + pdu)
            await writer.drain()

    async with raw_tcp_device(handle) as link:
        for _ in range(3):
            result = await link.read(1, "holding", 0, 5, TIMEOUT_S)
            assert (result.status, result.detail) == (ReadStatus.BAD_FRAME, detail)
        assert link.connected
        assert link.statistics()["frame_errors"] == 3


async def test_a_late_answer_is_counted_and_skipped_and_the_next_read_gets_its_own() -> None:
    """The device answers its first request after the read timed out: that answer arrives while the next
    read waits, is counted as unexpected (another transaction) and ignored; the next read is answered."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = True
        while True:
            request = await reader.readexactly(12)
            if first:
                await asyncio.sleep(TIMEOUT_S * 1.5)
                first = False
            tid = request[:2]
            value = 7 if tid == b"\x00\x01" else 8
            pdu = bytes([3, 2, 0, value])
            writer.write(tid + b"\x00\x00" + (len(pdu) + 1).to_bytes(2, "big") + request[6:7] + pdu)
            await writer.drain()
            await asyncio.sleep(0.05)  # the late answer travels alone, not with the next one

    async with raw_tcp_device(handle) as link:
        assert (await link.read(1, "holding", 0, 1, TIMEOUT_S)).status is ReadStatus.TIMEOUT
        second = await link.read(1, "holding", 0, 1, TIMEOUT_S * 3)
        assert (second.status, second.words) == (ReadStatus.OK, [8])
        assert link.statistics()["unexpected_frames"] == 1
        assert link.connected


async def test_reads_sent_together_share_one_timeout_timer() -> None:
    loop = asyncio.get_running_loop()
    deadlines = ReadDeadlines()
    answered, silent, other = loop.create_future(), loop.create_future(), loop.create_future()
    key = deadlines.add(loop, 0.05, answered)
    assert deadlines.add(loop, 0.05, silent) == key  # the same grain: one timer for both
    answered.set_result("answer")
    deadlines.done(key)
    other_key = deadlines.add(loop, 0.05 + 3 * ReadDeadlines.GRAIN_S, other)
    assert other_key != key
    other.set_result("answer")
    deadlines.done(other_key)  # its last read answered: its timer is gone, nothing left to fire
    await asyncio.wait([silent], timeout=5.0)
    assert isinstance(silent.exception(), TimeoutError)  # the shared timer failed the read still waiting
    assert answered.result() == "answer" and other.result() == "answer"
