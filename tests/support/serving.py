"""The app served by a real uvicorn on a loopback port, inside the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import orjson
import uvicorn
from fastapi import FastAPI

START_TIMEOUT_S = 15.0


@asynccontextmanager
async def serving(app: FastAPI, port: int = 0) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 at ``port`` (0: a free one); yields its base URL; stops it afterwards."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="uvicorn")
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(START_TIMEOUT_S):
            await task


async def wait_healthy(base_url: str, mqtt: str = "disabled", timeout_s: float = 15.0) -> None:
    """Poll /healthz until the process serves (and its MQTT ingest is in the state asked for)."""
    async with httpx.AsyncClient(base_url=base_url) as client, asyncio.timeout(timeout_s):
        while True:
            try:
                r = await client.get("/healthz")
                if r.status_code == 200 and r.json()["mqtt"] == mqtt:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)


async def read_event(lines: object, wanted: str) -> dict[str, object]:
    """The data of the next SSE event named ``wanted`` (bounded by the caller's timeout)."""
    name = None
    async for line in lines:  # type: ignore[attr-defined]
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name == wanted:
            return orjson.loads(line[len("data: ") :])  # type: ignore[no-any-return]
    raise AssertionError("the stream ended")
