"""The central on a real uvicorn in a thread of its own, so a test can drive the (synchronous) browser
meanwhile; it can be stopped and started again on the same port, as a restarted central would be."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from fastapi import FastAPI

from tests.support.serving import serving

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 15.0


class ThreadedCentral:
    def __init__(self, make_app: Callable[[], FastAPI]) -> None:
        self.make_app = make_app
        self.url = ""
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> str:
        """Serve a new app from ``make_app`` (on the port of the last start, if any); its base URL."""
        self._ready.clear()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(),), name="central", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("the central did not start")
        if self._error is not None:
            raise RuntimeError("the central did not start") from self._error
        return self.url

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with serving(self.make_app(), self.port) as url:
                self.url = url
                self.port = int(url.rsplit(":", 1)[1])
                self._ready.set()
                await self._stop.wait()
        except BaseException as e:
            self._error = e
            self._ready.set()
            raise

    def stop(self) -> None:
        if self._thread is None or self._loop is None or self._stop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            raise RuntimeError("the central did not stop")
        self._thread = None
