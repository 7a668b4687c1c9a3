"""The uplink proxy carries bytes both ways, and a cut resets open and new connections until restored."""

from __future__ import annotations

import asyncio
import contextlib

from simulator.demo.proxy import UplinkProxy

HANDLERS: list[asyncio.Task[None]] = []


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The central's stand-in: answers in capitals until the connection ends."""
    task = asyncio.current_task()
    assert task is not None
    HANDLERS.append(task)
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(1024):
            writer.write(data.upper())
            await writer.drain()
    writer.close()


async def answer_or_reset(port: int, text: bytes) -> bytes:
    """The answer, or b"" when the connection was reset or closed without one."""
    try:
        return await roundtrip(port, text)
    except (ConnectionError, OSError):
        return b""


async def roundtrip(port: int, text: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(text)
        await writer.drain()
        return await asyncio.wait_for(reader.read(1024), 2.0)
    finally:
        writer.close()


async def test_cut_and_restore() -> None:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    proxy = UplinkProxy("127.0.0.1", server.sockets[0].getsockname()[1])
    port = await proxy.start()
    try:
        assert await roundtrip(port, b"batch") == b"BATCH"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"open")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(1024), 2.0) == b"OPEN"
        proxy.cut()
        with contextlib.suppress(ConnectionError):
            assert await asyncio.wait_for(reader.read(1024), 2.0) == b""  # the open connection is reset
        writer.close()
        assert await answer_or_reset(port, b"during the cut") == b""
        proxy.restore()
        assert await roundtrip(port, b"after") == b"AFTER"
        stats = proxy.statistics()
        assert stats["cuts"] == 1
        assert stats["refused"] >= 1
        assert stats["bytes_up"] >= len(b"batchopenafter")
    finally:
        await proxy.close()
        server.close()
        await asyncio.wait_for(asyncio.gather(*HANDLERS, return_exceptions=True), 5.0)
        await server.wait_closed()
