"""Keep a long-lived loop running: restart it after an unexpected error, with capped, jittered backoff.

``supervise(name, factory)`` awaits ``factory()`` (a coroutine function: the loop) again and again. A
normal return ends supervision; cancellation passes through (the TaskGroup is shutting down); a *fatal*
error (by default ``ConfigError``: a bad site file will not fix itself) propagates and stops the process
with its message. Any other exception is logged (a warning with the traceback the first time in a row,
debug after) and the loop restarts after the wait ``protocols.backoff`` gives (doubling from
``initial_backoff_s`` up to ``max_backoff_s``, jittered so loops that failed together do not restart
together). A run that lasted ``healthy_after_s`` resets the backoff. ``Restarts`` counts, for the heartbeat.

The edge's bus tasks run under it; the outbox writer and the uplink can too::

    async with asyncio.TaskGroup() as tg:
        tg.create_task(supervise("bus gas", bus.run, restarts=bus.restarts), name="bus gas")
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from protocols.backoff import Backoff
from protocols.errors import ConfigError

log = logging.getLogger(__name__)


class Restarts:
    """How often a supervised loop was restarted, and the last error (for statistics)."""

    def __init__(self) -> None:
        self.count = 0
        self.last_error = ""


async def supervise(
    name: str,
    factory: Callable[[], Awaitable[None]],
    *,
    initial_backoff_s: float = 0.5,
    max_backoff_s: float = 30.0,
    jitter: float = 0.2,
    healthy_after_s: float = 60.0,
    fatal: tuple[type[BaseException], ...] = (ConfigError,),
    restarts: Restarts | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> None:
    backoff = Backoff(initial_backoff_s, max_backoff_s, jitter)
    rng = rng or random.Random()
    restarts = restarts or Restarts()
    failures_in_a_row = 0
    while True:
        started = time.monotonic()
        try:
            await factory()
            return
        except fatal:
            raise
        except Exception as e:  # a supervisor's job is to survive its loop's bugs
            if time.monotonic() - started >= healthy_after_s:
                failures_in_a_row = 0
            failures_in_a_row += 1
            restarts.count += 1
            restarts.last_error = f"{type(e).__name__}: {e}"
            delay_s = backoff.delay_s(failures_in_a_row, rng)
            if failures_in_a_row == 1:
                log.warning("%s failed, restarting in %.1f s", name, delay_s, exc_info=True)
            else:
                log.debug("%s failed again (%s), restarting in %.1f s", name, restarts.last_error, delay_s)
        await sleep(delay_s)
