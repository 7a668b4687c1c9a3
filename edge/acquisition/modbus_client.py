"""The edge's one door to pymodbus: read registers from a unit over RTU or TCP, and say what happened.

Everything pymodbus-specific lives here (pymodbus renames things between minor versions; the project
pins 3.16 and wraps it once). Callers see ``ModbusLink``: ``connect()``, ``close()``, ``connected`` and
``read(unit_id, kind, address, count, timeout_s) -> ReadResult``, where the result says OK (with the
words), EXCEPTION (with the code), TIMEOUT, BAD_FRAME or DISCONNECTED. ``read`` never raises for anything
a device or a line does. The Modbus slave is ``unit_id`` here; pymodbus's ``device_id`` appears only below.

How pymodbus is used, and why:

- ``retries=0`` and ``reconnect_delay=0``: the bus task owns retries, offline backoff and reconnection,
  so one dead device cannot make pymodbus stall the bus or churn connections.
- A read is one request on pymodbus's own transport, without its ``execute``: the adapter builds the
  request PDU (pymodbus's class), puts a fresh future in ``ctx.response_future`` and sends with
  ``ctx.pdu_send``; pymodbus's framer and ``callback_data`` resolve that future with the decoded answer,
  exactly as under ``execute``. What ``execute`` adds is work this adapter does not need, at the
  gateway's poll rate: a lock (one task owns a link), a retry loop (``retries=0``), ``asyncio.wait_for``
  (a second future, timer and task step per read) and its silent-request counter. Our own deadline
  bounds the read instead (``ReadDeadlines``: reads sent within the same 5 ms, as buses on one poll
  grid send theirs, share one timer), and pymodbus never logs an error per timeout. It also makes the
  Python 3.11 ``wait_for`` cancellation problem (below) moot for reads.
- Answers to register reads decode through ``_Registers`` subclasses of pymodbus's response classes,
  registered with the client's decoder (``client.register``, pymodbus's documented hook for custom
  responses): one ``struct`` call per answer instead of one per register, and a short ``__str__``
  (pymodbus formats every decoded PDU into a debug string even when debug logging is off; the stock one
  lists all the registers). The values, the checks and the errors are pymodbus's.
- CRC and framing errors: pymodbus's RTU framer drops a frame whose CRC fails and waits on, so the read
  would end as a timeout. ``_CountingFramer`` (a subclass of the framer pymodbus would use) sees that drop,
  counts it, and fails the pending read at once as BAD_FRAME: the answer is known to be lost, and the bus
  need not wait out the timeout. Bytes that never became a frame before the timeout (garbage, a
  truncated answer) also count as BAD_FRAME. A well-formed answer from another unit or transaction (a
  late answer to an earlier request) is counted as ``unexpected_frames`` and ignored, as pymodbus does.
  This touches two pymodbus internals, ``client.ctx.framer`` and ``client.ctx.response_future``; both
  are stable within 3.16 and covered by the tests in ``tests/edge/acquisition``.
- Cancellation: pymodbus's ``connect`` awaits ``asyncio.wait_for``, which on Python 3.11 swallows a
  cancellation that arrives together with the result (CPython gh-86296). A bus task that lost its
  cancellation that way would poll on and keep its TaskGroup from ever finishing, so ``connect``
  re-raises a cancellation the task still has pending (``Task.cancelling()``).

Everything above relies on pymodbus 3.16 (pinned ``>=3.16,<3.17``): ``client.ctx`` (the
``TransactionManager``) with ``framer``, ``response_future``, ``recv_buffer``, ``transport``,
``getNextTID``, ``pdu_send`` and ``trace_connect``; the request and response classes of
``pymodbus.pdu.register_message`` and ``pymodbus.pdu.bit_message``; ``client.register``. The tests in
``tests/edge/acquisition`` run every path against pymodbus's own servers.
- Linux pseudo-terminals refuse parity and 7 data bits (``tcsetattr`` fails with EINVAL); the simulated
  buses live on them, so a pty is opened 8N1. Only the wire's timing model cares about framing there.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException, ModbusIOException
from pymodbus.framer import FramerRTU, FramerSocket, FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.bit_message import ReadCoilsRequest, ReadDiscreteInputsRequest
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersRequest,
    ReadInputRegistersResponse,
)

Kind = Literal["holding", "input", "coil", "discrete"]
BACKSTOP_S = 1.0  # pymodbus's own timeout is ours plus this


class ReadStatus(Enum):
    OK = "ok"
    EXCEPTION = "exception"  # the device answered a Modbus exception
    TIMEOUT = "timeout"  # no answer in time
    BAD_FRAME = "bad_frame"  # an answer arrived broken (CRC, truncated, undecodable)
    DISCONNECTED = "disconnected"  # no connection / the port is gone


@dataclass(frozen=True, slots=True)
class ReadResult:
    status: ReadStatus
    words: list[int] | list[bool] | None = None  # OK: registers, or bit values for coil/discrete
    exception_code: int = 0
    detail: str = ""


NOT_CONNECTED = ReadResult(ReadStatus.DISCONNECTED, detail="not connected")
TIMED_OUT = ReadResult(ReadStatus.TIMEOUT)


class ModbusLink(Protocol):
    """What a bus task needs from a Modbus connection."""

    @property
    def connected(self) -> bool: ...

    async def connect(self, timeout_s: float) -> bool: ...

    def close(self) -> None: ...

    async def read(
        self, unit_id: int, kind: Kind, address: int, count: int, timeout_s: float
    ) -> ReadResult: ...

    def statistics(self) -> dict[str, int]: ...


REQUESTS: dict[str, type[ModbusPDU]] = {
    "holding": ReadHoldingRegistersRequest,
    "input": ReadInputRegistersRequest,
    "coil": ReadCoilsRequest,
    "discrete": ReadDiscreteInputsRequest,
}


class _BadFrameError(Exception):
    """Raised into pymodbus's pending read when its answer is known to be broken."""


class _Registers(ReadHoldingRegistersResponse):
    """A register read's answer, decoded with one ``struct`` call (pymodbus: one per register)."""

    def decode(self, data: bytes) -> None:
        byte_count = int(data[0])
        if byte_count >= len(data):  # pymodbus's own check and error
            raise ModbusIOException(
                f"byte_count {byte_count} > length of packet {len(data)}", function_code=self.function_code
            )
        self.registers = list(struct.unpack_from(f">{byte_count // 2}H", data, 1))  # an odd byte: ignored

    def __str__(self) -> str:
        return (
            f"{type(self).__name__}(dev_id={self.dev_id}, transaction_id={self.transaction_id}, "
            f"count={len(self.registers)})"
        )


class _HoldingRegisters(_Registers):
    pass


class _InputRegisters(_Registers, ReadInputRegistersResponse):
    function_code = 4


class ReadDeadlines:
    """The timeouts of reads on many links, grouped: reads whose deadlines fall within the same
    ``GRAIN_S`` share one event-loop timer (so a read may time out up to ``GRAIN_S`` late).

    Buses that poll on one grid send their reads within a millisecond or two of each other: one timer
    (created, and cancelled when the last of its reads is answered) instead of one per read. A link
    without a shared one gets its own.
    """

    GRAIN_S = 0.005

    def __init__(self) -> None:
        self._groups: dict[int, _DeadlineGroup] = {}

    def add(self, loop: asyncio.AbstractEventLoop, timeout_s: float, future: asyncio.Future[Any]) -> int:
        """Fail ``future`` with TimeoutError after ``timeout_s`` unless it is done; call ``done(key)``
        with the returned key once it is."""
        key = math.ceil((loop.time() + timeout_s) / self.GRAIN_S)
        group = self._groups.get(key)
        if group is None or group.loop is not loop:  # (a loop that ended with reads pending left it)
            group = self._groups[key] = _DeadlineGroup(
                loop, loop.call_at(key * self.GRAIN_S, self._expire, key)
            )
        group.futures.append(future)
        group.pending += 1
        return key

    def done(self, key: int) -> None:
        group = self._groups.get(key)
        if group is not None:
            group.pending -= 1
            if group.pending == 0:
                group.timer.cancel()
                del self._groups[key]

    def _expire(self, key: int) -> None:
        group = self._groups.pop(key, None)
        for future in group.futures if group is not None else ():
            if not future.done():
                future.set_exception(TimeoutError())


@dataclass(slots=True)
class _DeadlineGroup:
    loop: asyncio.AbstractEventLoop
    timer: asyncio.TimerHandle
    futures: list[asyncio.Future[Any]] = field(default_factory=list)
    pending: int = 0


class _CountingFramer:
    """Mixin over a pymodbus framer: reports dropped frames to the link (see the module docstring)."""

    on_bad_frame: Callable[[str], None]
    on_unexpected_frame: Callable[[], None]
    _decoded = 0

    def decode(self, data: bytes) -> tuple[int, int, int, bytes]:
        used, dev_id, tid, frame = super().decode(data)  # type: ignore[misc]
        if frame:
            self._decoded += 1
        elif used and isinstance(self, FramerRTU):
            self.on_bad_frame("crc")  # the RTU framer consumes a whole frame only when its CRC fails
        return used, dev_id, tid, frame

    def handleFrame(self, data: bytes, exp_devid: int, exp_tid: int) -> tuple[int, ModbusPDU | None]:  # noqa: N802
        self._decoded = 0
        try:
            used, pdu = super().handleFrame(data, exp_devid, exp_tid)  # type: ignore[misc]
        except (ModbusIOException, struct.error, IndexError, ValueError):
            # a PDU pymodbus cannot decode (unknown function, a byte count beyond the data): it raises
            # ModbusIOException for those; the other types are there in case a decoder lets one through
            self.on_bad_frame("undecodable")
            return len(data), None
        if pdu is None and self._decoded:
            self.on_unexpected_frame()  # a sound frame for another unit or transaction: skipped
        return used, pdu


class _RtuFramer(_CountingFramer, FramerRTU):
    pass


class _SocketFramer(_CountingFramer, FramerSocket):
    pass


def _reraise_swallowed_cancel() -> None:
    """Raise the cancellation pymodbus's ``wait_for`` may have swallowed (see the module docstring)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def is_pseudo_terminal(path: str) -> bool:
    """True for a Unix98 pseudo-terminal (``/dev/pts/N``), directly or through a link."""
    return os.path.realpath(path).startswith("/dev/pts/")


class PymodbusLink:
    """A ``ModbusLink`` over a pymodbus async client (build it with ``rtu_link`` or ``tcp_link``)."""

    def __init__(
        self,
        client: AsyncModbusSerialClient | AsyncModbusTcpClient,
        framer: _CountingFramer,
        deadlines: ReadDeadlines | None = None,
    ) -> None:
        self._client = client
        self._deadlines = deadlines or ReadDeadlines()
        framer.on_bad_frame = self._bad_frame
        framer.on_unexpected_frame = self._unexpected_frame
        client.ctx.framer = framer  # type: ignore[assignment]
        client.ctx.trace_connect = self._connection_changed
        client.register(_HoldingRegisters)
        client.register(_InputRegisters)
        self._counts = {"crc_errors": 0, "frame_errors": 0, "unexpected_frames": 0, "connects": 0}
        self._last_bad = ""

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    async def connect(self, timeout_s: float) -> bool:
        self._counts["connects"] += 1
        try:
            async with asyncio.timeout(timeout_s):
                connected = bool(await self._client.connect())
        except (TimeoutError, OSError, ModbusException):
            self._client.close()
            return False
        _reraise_swallowed_cancel()
        return connected

    def close(self) -> None:
        self._client.close()

    def statistics(self) -> dict[str, int]:
        return dict(self._counts)

    def _is_up(self) -> bool:
        return bool(self._client.connected)

    async def read(self, unit_id: int, kind: Kind, address: int, count: int, timeout_s: float) -> ReadResult:
        ctx = self._client.ctx
        if not ctx.transport:
            return NOT_CONNECTED
        request = REQUESTS[kind](address=address, count=count, dev_id=unit_id)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ModbusPDU] = loop.create_future()
        ctx.response_future = future
        ctx.recv_buffer = b""
        request.transaction_id = ctx.getNextTID()
        deadline = self._deadlines.add(loop, timeout_s, future)
        try:
            ctx.pdu_send(request)
            response = await future
        except TimeoutError:
            if not self._is_up():
                return ReadResult(ReadStatus.DISCONNECTED, detail="connection lost")
            if ctx.recv_buffer:  # bytes came, but never a whole frame
                ctx.recv_buffer = b""
                self._counts["frame_errors"] += 1
                return ReadResult(ReadStatus.BAD_FRAME, detail="incomplete answer")
            return TIMED_OUT
        except _BadFrameError as e:
            return ReadResult(ReadStatus.BAD_FRAME, detail=str(e))
        except (ModbusException, OSError) as e:
            status = ReadStatus.BAD_FRAME if self._is_up() else ReadStatus.DISCONNECTED
            return ReadResult(status, detail=str(e))
        finally:
            self._deadlines.done(deadline)
        if response.isError():
            return ReadResult(ReadStatus.EXCEPTION, exception_code=int(response.exception_code))
        words = response.registers if kind in ("holding", "input") else response.bits[:count]
        if len(words) < count:
            self._counts["frame_errors"] += 1
            return ReadResult(ReadStatus.BAD_FRAME, detail=f"{len(words)} of {count} values")
        return ReadResult(ReadStatus.OK, words=words)  # type: ignore[arg-type]

    # called by the framer, inside pymodbus's data_received

    def _bad_frame(self, why: str) -> None:
        self._counts["crc_errors" if why == "crc" else "frame_errors"] += 1
        future = self._client.ctx.response_future
        if not future.done():
            future.set_exception(_BadFrameError(why))

    def _unexpected_frame(self) -> None:
        self._counts["unexpected_frames"] += 1

    def _connection_changed(self, connected: bool) -> None:
        future = self._client.ctx.response_future
        if not connected and not future.done():
            future.set_exception(ConnectionError("connection lost"))


def rtu_link(
    port: str,
    *,
    baud: int,
    data_bits: int,
    parity: str,
    stop_bits: int,
    timeout_s: float,
    deadlines: ReadDeadlines | None = None,
) -> PymodbusLink:
    """A link over a serial port (RS-485 adapter) speaking Modbus RTU."""
    if is_pseudo_terminal(port):
        data_bits, parity = 8, "N"
    client = AsyncModbusSerialClient(
        port,
        framer=FramerType.RTU,
        baudrate=baud,
        bytesize=data_bits,
        parity=parity,
        stopbits=stop_bits,
        timeout=timeout_s + BACKSTOP_S,
        retries=0,
        reconnect_delay=0,
        name=f"rtu {port}",
    )
    return PymodbusLink(client, _RtuFramer(client.ctx.framer.decoder), deadlines)


def tcp_link(
    host: str, port: int, *, timeout_s: float, deadlines: ReadDeadlines | None = None
) -> PymodbusLink:
    """A link over one TCP connection to ``host:port`` speaking Modbus TCP (MBAP)."""
    client = AsyncModbusTcpClient(
        host,
        port=port,
        framer=FramerType.SOCKET,
        timeout=timeout_s + BACKSTOP_S,
        retries=0,
        reconnect_delay=0,
        name=f"tcp {host}:{port}",
    )
    return PymodbusLink(client, _SocketFramer(client.ctx.framer.decoder), deadlines)


def quiet_pymodbus_logging() -> None:
    """For entry points: pymodbus logs an error per unexpected frame; our counters say it better."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
