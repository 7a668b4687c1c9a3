"""The edge's one door to pyserial: a serial port read and written from asyncio.

``await SerialPort.open(path, baud=..., ...)`` opens the port non-blocking and with an exclusive lock (one
task per port); ``await port.read(max_bytes, timeout_s)`` returns what has arrived (``b""`` when nothing
came within ``timeout_s``), waiting on the event loop's reader callback, never polling; ``await
port.write(data)`` sends. A port that goes away (a USB adapter unplugged, the far end of a
pseudo-terminal closed, the device node removed) raises ``PortGone`` from whichever call notices: the
caller closes it and reopens with backoff. Nothing else pyserial raises leaves this module.

Linux pseudo-terminals refuse parity and 7 data bits (``tcsetattr`` fails with EINVAL), and the test and
demo sensors live on them, so a pty is opened 8N1; the framing means nothing to a pty anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

import serial

WRITE_TIMEOUT_S = 1.0


class PortGone(Exception):  # noqa: N818 - a condition, not a programming error
    """The serial port is not (or no longer) there."""


def is_pseudo_terminal(path: str) -> bool:
    return os.path.realpath(path).startswith("/dev/pts/")


class SerialPort:
    def __init__(self, port: serial.Serial) -> None:
        self._port = port
        self.path = str(port.port)

    @classmethod
    async def open(
        cls, path: str, *, baud: int, data_bits: int = 8, parity: str = "N", stop_bits: int = 1
    ) -> SerialPort:
        """Open ``path``; ``PortGone`` when it does not exist or cannot be opened."""
        if is_pseudo_terminal(path):
            data_bits, parity = 8, "N"
        try:
            port = serial.Serial(
                path,
                baudrate=baud,
                bytesize=data_bits,
                parity=parity,
                stopbits=stop_bits,
                timeout=0,
                write_timeout=WRITE_TIMEOUT_S,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as e:
            raise PortGone(f"cannot open {path}: {e}") from None
        return cls(port)

    async def read(self, max_bytes: int = 4096, timeout_s: float | None = None) -> bytes:
        """What has arrived, up to ``max_bytes``; ``b""`` after ``timeout_s`` without data."""
        while True:
            try:
                data: bytes = self._port.read(max_bytes)
            except (serial.SerialException, OSError, TypeError, AttributeError) as e:
                # pyserial raises TypeError/AttributeError when its fd was closed under it
                raise PortGone(f"{self.path}: {e}") from None
            if data:
                return data
            try:
                await self._readable(timeout_s)
            except TimeoutError:
                return b""

    async def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as e:
            raise PortGone(f"{self.path}: {e}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._port.close()

    async def _readable(self, timeout_s: float | None) -> None:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        try:
            fd = self._port.fileno()
        except (serial.SerialException, OSError, ValueError) as e:
            raise PortGone(f"{self.path}: {e}") from None

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            async with asyncio.timeout(timeout_s):
                await ready
        finally:
            loop.remove_reader(fd)
