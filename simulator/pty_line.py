"""A serial line on a pseudo-terminal: the device end for the simulator, a stable path for the gateway.

``PtyLine(link)`` opens a pty pair, makes both ends raw (no echo, no line discipline) and links ``link`` to
the slave end, which the gateway opens like ``/dev/ttyUSB0``. The simulator keeps the slave end open too,
so writes never fail while the gateway is away (rebooting, reopening the port), and reads and writes the
master end.

A real sensor's output is lost while nobody listens: a pty would instead queue it for the next reader,
which then sees minutes-old fixes as new. So before each write the line looks at what is still queued for
the reader and discards it when it is more than ``stale_bytes`` (counted as ``discarded_bytes``).
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import termios
import tty
from pathlib import Path

STALE_BYTES = 1024


class PtyLine:
    def __init__(self, link: str | Path, stale_bytes: int = STALE_BYTES) -> None:
        self.link = Path(link)
        self.stale_bytes = stale_bytes
        self.master_fd, self._slave_fd = os.openpty()
        for fd in (self.master_fd, self._slave_fd):
            tty.setraw(fd)
        os.set_blocking(self.master_fd, False)
        self.link.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        self.link.symlink_to(os.ttyname(self._slave_fd))
        self.counts = {"written_bytes": 0, "discarded_bytes": 0, "dropped_writes": 0, "read_bytes": 0}

    @property
    def path(self) -> str:
        return str(self.link)

    def queued_bytes(self) -> int:
        """Bytes written by the device that the gateway has not read yet."""
        buf = array.array("i", [0])
        try:
            fcntl.ioctl(self._slave_fd, termios.FIONREAD, buf)
        except OSError:
            return 0
        return int(buf[0])

    def write(self, data: bytes) -> None:
        queued = self.queued_bytes()
        if queued > self.stale_bytes:
            with contextlib.suppress(termios.error, OSError):
                termios.tcflush(self._slave_fd, termios.TCIFLUSH)
            self.counts["discarded_bytes"] += queued
        try:
            os.write(self.master_fd, data)
            self.counts["written_bytes"] += len(data)
        except (BlockingIOError, OSError):
            self.counts["dropped_writes"] += 1

    def read(self, max_bytes: int = 4096) -> bytes:
        try:
            data = os.read(self.master_fd, max_bytes)
        except (BlockingIOError, OSError):
            return b""
        self.counts["read_bytes"] += len(data)
        return data

    def close(self) -> None:
        for fd in (self.master_fd, self._slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()

    def statistics(self) -> dict[str, int]:
        return dict(self.counts)
