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

from protocols.cli import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    LOG_FORMAT,
    add_command_modules,
    command_parser,
    log_level,
    run_main,
)
from protocols.errors import ConfigError

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "build_parser", "main"]

COMMANDS = ("check", "plan", "detect", "run", "status", "poll", "probe", "warm")


def build_parser() -> argparse.ArgumentParser:
    parser, sub = command_parser("fieldwatch-edge", "FieldWatch field gateway")
    add_command_modules(sub, "edge.cli", COMMANDS)
    return parser


def configure_logging(verbosity: int) -> None:
    logging.basicConfig(level=log_level(verbosity), format=LOG_FORMAT, stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(build_parser(), argv, configure_logging=configure_logging, bad_input=(ConfigError,))


if __name__ == "__main__":
    sys.exit(main())
