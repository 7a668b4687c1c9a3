"""A TCP proxy between a gateway and the central that the demo cuts and restores: a 4G link going down.

``await UplinkProxy(host, port).start()`` listens on a free local port (``.port``) and pipes each
connection to the central. ``cut()`` resets every open connection and, until ``restore()``, resets each
new one as soon as it arrives: the gateway's HTTP client sees connection errors, keeps its rows and
backs off, as it would on a dead modem. Real sockets end to end: nothing is simulated but the outage.
"""

from __future__ import annotations

import asyncio
import contextlib

CHUNK_BYTES = 64 * 1024


class UplinkProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.up = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self.counts = {"connections": 0, "refused": 0, "cuts": 0, "bytes_up": 0, "bytes_down": 0}

    async def start(self, host: str = "127.0.0.1") -> int:
        self._server = await asyncio.start_server(self._handle, host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    def cut(self) -> None:
        self.up = False
        self.counts["cuts"] += 1
        for writer in list(self._open):
            writer.transport.abort()

    def restore(self) -> None:
        self.up = True

    async def close(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            self.counts["refused"] += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.counts["connections"] += 1
        self._open |= {writer, up_writer}
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pipe(reader, up_writer, "bytes_up"))
                group.create_task(self._pipe(up_reader, writer, "bytes_down"))
        except* (ConnectionError, OSError):
            pass
        finally:
            for w in (writer, up_writer):
                self._open.discard(w)
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter: str) -> None:
        while data := await reader.read(CHUNK_BYTES):
            if not self.up:
                raise ConnectionResetError("uplink cut")
            writer.write(data)
            self.counts[counter] += len(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()

    def statistics(self) -> dict[str, int | bool]:
        return {"up": self.up, **self.counts}
