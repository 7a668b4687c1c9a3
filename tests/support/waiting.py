"""Bounded waits for state that another thread or process changes: poll until true, or fail saying what
was awaited. Never a fixed sleep: a test waits as long as it must, and a bound says when to give up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

POLL_S = 0.02


def wait_for(predicate: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    """Poll ``predicate`` from a plain (synchronous) test."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(POLL_S)


async def until(predicate: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    """Poll ``predicate`` from a coroutine, leaving the event loop free in between."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(POLL_S)
