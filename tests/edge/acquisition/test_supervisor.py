from __future__ import annotations

import asyncio
import logging
import random

import pytest

from edge.supervisor import Restarts, supervise
from protocols.errors import ConfigError, ConfigIssue


class Loop:
    """A loop that fails ``failures`` times, then returns."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or RuntimeError("boom")
        self.runs = 0

    async def __call__(self) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise self.error


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def test_restarts_with_doubling_capped_jittered_backoff() -> None:
    loop, sleeps, restarts = Loop(failures=6), Sleeps(), Restarts()
    await supervise("loop", loop, initial_backoff_s=1.0, max_backoff_s=8.0, jitter=0.2, sleep=sleeps,
                    restarts=restarts, rng=random.Random(1))  # fmt: skip
    assert loop.runs == 7
    assert restarts.count == 6
    assert restarts.last_error == "RuntimeError: boom"
    nominal = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert len(sleeps.delays) == 6
    for delay, base in zip(sleeps.delays, nominal, strict=True):
        assert base * 0.8 <= delay <= base * 1.2
    assert len(set(sleeps.delays)) == 6  # jittered, not lockstep


async def test_a_fatal_error_is_not_retried() -> None:
    error = ConfigError([ConfigIssue("site.yaml", 3, "buses[0].port", "no such port")])
    loop, sleeps = Loop(failures=1, error=error), Sleeps()
    with pytest.raises(ConfigError):
        await supervise("loop", loop, sleep=sleeps)
    assert loop.runs == 1
    assert sleeps.delays == []


async def test_cancellation_passes_through() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    task = asyncio.create_task(supervise("loop", forever))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)


async def test_one_warning_per_failure_streak(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="edge.supervisor")
    await supervise("bus x", Loop(failures=3), sleep=Sleeps())
    levels = [r.levelno for r in caplog.records]
    assert levels == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    assert "bus x failed" in caplog.records[0].getMessage()
