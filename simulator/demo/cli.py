"""``fieldwatch-demo``: a county's three sites, an incident at each, on one machine (see ``simulator.demo``).

    fieldwatch-demo [--duration-s N] [--speed X] [--seed N] [--json] [--keep] [--scenario NAME ...]

It runs until the stories are over (about ``4 h / speed``), ``--duration-s`` or Ctrl-C, whichever comes
first, then drains the gateways and prints the summary; ``--json`` adds the summary as one JSON object on
the last line. In a terminal the view is live; elsewhere (a pipe, CI) the same events print as lines.
The run's folder (database, site files, every process's log) is removed at the end unless ``--keep``.

Exit status: 0 when every expected alarm that was due by the story time reached came in order (a run
cut short by ``--duration-s`` is judged on what was due by then) and no row was lost or duplicated, 1
otherwise, 130 when stopped early with Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live

from protocols.errors import ConfigError
from simulator.clock import clock_text
from simulator.demo import view
from simulator.demo.orchestra import Demo, DemoOptions
from simulator.demo.view import DemoState, FeedLine

EXIT_OK, EXIT_NOT_AS_EXPECTED, EXIT_INTERRUPTED = 0, 1, 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fieldwatch-demo", description="FieldWatch: three sites, three incidents"
    )
    p.add_argument(
        "--duration-s", type=float, default=180.0, help="stop after this many real seconds at most"
    )
    p.add_argument("--speed", type=float, default=120.0, help="simulated seconds per real second")
    p.add_argument("--seed", type=int, default=1, help="the simulators' noise seed")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")
    p.add_argument("--keep", action="store_true", help="keep the run's folder (logs, database, site files)")
    p.add_argument("--workdir", type=Path, help="the run's folder (default: a new temporary one)")
    p.add_argument("--scenario", action="append", help="run only these scenarios (repeat)")
    p.add_argument("--port", type=int, default=0, help="the central's port (default: a free one)")
    p.add_argument("--plain", action="store_true", help="print lines instead of the live view")
    return p


class LiveView:
    """Rebuilt at every refresh of rich's Live from the demo's state."""

    def __init__(self, state: DemoState) -> None:
        self.state = state

    def __rich__(self) -> RenderableType:
        return view.live(self.state)


class PlainPrinter:
    """The live view's news as lines, for a pipe or a CI log: the API's address and token once the central
    is up (the README's curl examples need them), phases, then story and alarm lines."""

    def __init__(self, console: Console, state: DemoState) -> None:
        self.console = console
        self.state = state
        self.printed: set[int] = set()
        self.phase = ""
        self.told_api = False

    def __call__(self) -> None:
        if self.state.phase != self.phase:
            self.phase = self.state.phase
            elapsed_s = time.time() - self.state.started_wall_s
            self.console.print(f"-- {elapsed_s:5.1f} s: {self.phase}")
            if not self.told_api and self.state.token and self.phase != "starting the central":
                self.told_api = True
                for api_line in view.api_lines(self.state):
                    self.console.print(api_line, highlight=False)
        lines: list[tuple[str, FeedLine]] = [("story", line) for line in self.state.story]
        lines += [("alarm", line) for line in self.state.feed]
        for kind, line in sorted(lines, key=lambda kl: kl[1].story_s):
            if id(line) not in self.printed:
                self.printed.add(id(line))
                self.console.print(
                    f"[{clock_text(line.story_s):>8}] {kind:<5} {line.scenario:<12} {line.shown}",
                    highlight=False,
                    markup=False,
                )


async def _run(options: DemoOptions, console: Console, live: bool) -> tuple[dict[str, Any], bool]:
    demo = Demo(options)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, demo.stop.set)
    if live:
        with Live(LiveView(demo.state), console=console, refresh_per_second=4, transient=False):
            summary = await demo.run()
    else:
        demo.on_change = PlainPrinter(console, demo.state)
        summary = await demo.run()
    return summary, demo.interrupted


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    console = Console()
    if not console.is_terminal:
        console = Console(width=120, soft_wrap=True)  # a log: long lines stay whole
    live = console.is_terminal and not args.plain
    temp = None if args.workdir or args.keep else tempfile.TemporaryDirectory(prefix="fieldwatch-demo-")
    workdir = args.workdir or (Path(temp.name) if temp else Path(tempfile.mkdtemp(prefix="fieldwatch-demo-")))
    options = DemoOptions(
        workdir=workdir, duration_s=args.duration_s, speed=args.speed, seed=args.seed,
        scenarios=tuple(args.scenario or DemoOptions.scenarios), port=args.port,
    )  # fmt: skip
    try:
        summary, interrupted = asyncio.run(_run(options, console, live))
    except (ConfigError, RuntimeError, OSError) as e:
        console.print(f"fieldwatch-demo: {e}", style="bold red")
        if args.json:
            print(json.dumps({"ok": False, "error": str(e)}))
        return EXIT_NOT_AS_EXPECTED
    finally:
        if temp is not None:
            temp.cleanup()
    if summary:
        console.print(view.summary_table(summary))
        console.print(view.summary_details(summary))
    if args.keep or args.workdir:
        console.print(f"the run's folder: {workdir}")
    if args.json:
        print(json.dumps(summary))
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if summary.get("ok") else EXIT_NOT_AS_EXPECTED


if __name__ == "__main__":
    sys.exit(main())
