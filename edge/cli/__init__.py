"""``fieldwatch-edge``: the gateway's command line.

Each subcommand is a module in this package with ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Exit status: 0 success, 1 failure at run time, 2 bad input (a config error, bad
arguments), with the reason on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from protocols import cli as frame
from protocols.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from protocols.errors import ConfigError

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "build_parser", "main"]

COMMANDS = ("check", "plan", "detect", "run", "status", "poll", "probe", "warm")


def build_parser() -> argparse.ArgumentParser:
    parser, sub = frame.command_parser("fieldwatch-edge", "FieldWatch field gateway")
    frame.add_command_modules(sub, "edge.cli", COMMANDS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return frame.run_main(build_parser(), argv, basic_config=logging.basicConfig, bad_input=(ConfigError,))


if __name__ == "__main__":
    sys.exit(main())
