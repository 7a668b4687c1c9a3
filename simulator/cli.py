"""``fieldwatch-sim``: field devices for a scenario, on real transports, until stopped.

    fieldwatch-sim list                                   # the shipped scenarios
    fieldwatch-sim check NAME|PATH                        # validate a scenario (every problem, file:line)
    fieldwatch-sim run --scenario NAME [--seed N] [--speed X] [--workdir DIR] [--hold] [--json]

``run`` prints where each bus is and the site file it wrote for the gateway, then the story as it happens
(notes and faults, with their simulated time). ``--hold`` keeps the story at t = 0 until SIGUSR1 (the demo
starts all its sites at once); SIGTERM or Ctrl-C stops it, and its statistics go to stderr. ``--json``
prints one JSON object per line instead of text, for a program to read.

Exit status: 0 after a clean stop, 2 for a bad scenario or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from protocols import cli as frame
from protocols.cli import EXIT_OK
from protocols.errors import ConfigError
from simulator import scenario as scenarios
from simulator.clock import clock_text
from simulator.runtime import Options, serve


def build_parser() -> argparse.ArgumentParser:
    parser, sub = frame.command_parser("fieldwatch-sim", "FieldWatch field-device simulator")
    listing = sub.add_parser("list", help="list the shipped scenarios")
    listing.add_argument("--json", action="store_true", help="one JSON object per scenario")
    listing.set_defaults(run=list_scenarios)
    check = sub.add_parser("check", help="validate a scenario")
    check.add_argument("scenario", help="a shipped scenario's name or a scenario file")
    check.set_defaults(run=check_scenario)
    run = sub.add_parser("run", help="serve a scenario's devices until stopped")
    run.set_defaults(run=lambda args: asyncio.run(_run(args)))
    run.add_argument("--scenario", required=True, help="a shipped scenario's name or a scenario file")
    run.add_argument("--seed", type=int, default=1, help="noise seed (the same seed, the same values)")
    run.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second")
    run.add_argument(
        "--workdir", type=Path, help="folder for the ptys and the site file (default: temporary)"
    )
    run.add_argument("--hold", action="store_true", help="hold the story at t = 0 until SIGUSR1")
    run.add_argument("--uplink-url", default="http://127.0.0.1:8080/", help="the central, for the site file")
    run.add_argument("--token-env", default="FIELDWATCH_TOKEN", help="the gateway's token variable")
    run.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    return parser


def human(report: dict[str, Any]) -> str | None:
    kind = report["event"]
    if kind == "ready":
        held = " (held: SIGUSR1 starts the story)" if report["held"] else ""
        run = f"seed {report['seed']}, speed {report['speed']:g}x"
        lines = [f"{report['scenario']}: {report['title']} ({run}){held}"]
        lines += [f"  bus {name}: {where}" for name, where in report["buses"].items()]
        lines.append(f"  site file: {report['site_file']}")
        lines.append(
            f"  run the gateway: fieldwatch-edge run {report['site_file']} --speed {report['speed']:g}"
        )
        return "\n".join(lines)
    if kind in ("note", "fault"):
        phase = "" if kind == "note" else f"{report['fault']} {report['phase']}: "
        by = " (the demo does this)" if report.get("by") == "demo" else ""
        return f"[{clock_text(report['t_s'])}] {phase}{report['text']}{by}"
    if kind == "started":
        return "[0:00:00] the story starts"
    if kind == "story_end":
        return f"[{clock_text(report['t_s'])}] the story is over; devices keep answering until stopped"
    return None


def emitter(as_json: bool) -> Any:
    def emit(report: dict[str, Any]) -> None:
        if report["event"] == "statistics":
            print(json.dumps(report, default=str), file=sys.stderr, flush=True)
            return
        text = json.dumps(report) if as_json else human(report)
        if text is not None:
            print(text, flush=True)

    return emit


async def _run(args: argparse.Namespace) -> int:
    loaded = scenarios.load(args.scenario)
    with workdir_or_temp(args.workdir) as workdir:
        options = Options(workdir=workdir, seed=args.seed, speed=args.speed, hold=args.hold,
                          uplink_url=args.uplink_url, token_env=args.token_env)  # fmt: skip
        stop, go = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, go.set)
        await serve(loaded, options, emitter(args.json), stop, go)
    return EXIT_OK


@contextlib.contextmanager
def workdir_or_temp(folder: Path | None) -> Iterator[Path]:
    """The given folder, or a temporary one removed at the end."""
    if folder is not None:
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="fieldwatch-sim-") as temp:
        yield Path(temp)


def list_scenarios(args: argparse.Namespace) -> int:
    for name in scenarios.scenario_names():
        loaded = scenarios.load(name)
        s = loaded.scenario
        if args.json:
            print(json.dumps({"name": s.name, "title": s.title, "length_s": s.length,
                              "gateway": loaded.bound.gateway_id, "path": loaded.path}))  # fmt: skip
        else:
            print(f"{s.name:<14} {clock_text(s.length)}  {s.title}")
    return EXIT_OK


def check_scenario(args: argparse.Namespace) -> int:
    loaded = scenarios.load(args.scenario)
    counts = f"{len(loaded.bound.devices)} devices, {len(loaded.bound.channels)} channels"
    print(f"{loaded.path}: ok ({counts})")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return frame.run_main(build_parser(), argv, basic_config=logging.basicConfig, bad_input=(ConfigError,))


if __name__ == "__main__":
    sys.exit(main())
