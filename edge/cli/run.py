"""``fieldwatch-edge run SITE.yaml [--speed X]``: the gateway agent, until SIGTERM.

Exit status: 0 after a clean stop (SIGTERM or SIGINT: the outbox is flushed, the detector state saved);
2 for a bad site file or a missing token (every problem printed with its file, line and key); 1 when the
agent cannot start (an unwritable outbox) or stops on an error, with the reason on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from edge.agent import Agent
from edge.clock import Clock
from edge.outbox import OutboxError
from edge.siteconfig import load_site

NAME = "run"
HELP = "run the gateway: acquisition, detection, outbox, uplink and heartbeat, until SIGTERM"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
log = logging.getLogger(__name__)


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, None]], None]:
    """uvloop where it exists (Linux, the gateways): the agent's event loop spends about 0.25 us less CPU
    per value on it (bench/edge_cpu.py); the standard loop elsewhere."""
    try:
        import uvloop  # noqa: PLC0415 - optional: not built for every platform
    except ImportError:
        return asyncio.run
    return uvloop.run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("site", metavar="SITE.yaml", help="the gateway's site file")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="fast-forward the clock (demos, tests): 60 = a minute per second",
    )
    parser.add_argument(
        "--drain-s",
        type=float,
        default=0.0,
        help="on SIGTERM, stop polling and keep forwarding for up to this many seconds, until the outbox is "
        "empty (a second SIGTERM stops at once); 0: stop at once, the outbox is sent after the next start",
    )
    parser.add_argument(
        "--clock-origin-ms",
        type=int,
        help="with --speed: simulated time is origin + (wall time - origin) x speed, shared across restarts",
    )


def run(args: argparse.Namespace) -> int:
    if args.speed <= 0 or args.drain_s < 0:
        print("fieldwatch-edge run: --speed must be > 0 and --drain-s >= 0", file=sys.stderr)
        return 2
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request drowns everything else
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    try:
        return _run(args, _catch_stop_signals())  # SIGTERM while starting up: stop cleanly once running
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(args: argparse.Namespace, early_stop: list[int]) -> int:
    site = load_site(args.site)  # a ConfigError becomes exit status 2 in edge.cli.main
    try:
        agent = Agent.start(site, Clock(speed=args.speed, origin_ms=args.clock_origin_ms))
    except OutboxError as e:
        print(f"fieldwatch-edge run: {e}", file=sys.stderr)
        return 1
    try:
        _event_loop_runner()(_serve(agent, early_stop, args.drain_s))
    except Exception as e:  # a fatal error of one task (an ExceptionGroup from the TaskGroup)
        errors = e.exceptions if isinstance(e, BaseExceptionGroup) else [e]
        for error in errors:
            reason = f"{type(error).__name__}: {error}"
            print(f"fieldwatch-edge run: stopped on an error: {reason}", file=sys.stderr)
        return 1
    return 0


def _catch_stop_signals() -> list[int]:
    """Until the event loop takes over, note SIGTERM/SIGINT instead of dying half-started."""
    caught: list[int] = []
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda signum, _frame: caught.append(signum))
    return caught


async def _serve(agent: Agent, early_stop: list[int], drain_s: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    if early_stop:
        log.info("a stop signal came while starting: stopping")
        stop.set()
    await agent.run(stop, drain_s)
