"""``fieldwatch-central``: the aggregator's command line.

Each subcommand is a module in this package with ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Exit status: 0 success, 1 failure at run time, 2 bad input (bad settings or
arguments; a bad file: every problem with its line), with the reason on stderr and never a traceback.
Settings come from ``FIELDWATCH_*`` environment variables; command-line options override them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from central.settings import SettingsError
from protocols import cli as frame
from protocols.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from protocols.errors import ConfigError

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "build_parser", "main"]

COMMANDS = ("serve", "token", "org", "user", "site", "audit", "notify")


def build_parser() -> argparse.ArgumentParser:
    parser, sub = frame.command_parser("fieldwatch-central", "FieldWatch central aggregator")
    frame.add_command_modules(sub, "central.cli", COMMANDS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    bad_input = (SettingsError, ConfigError)  # ConfigError: a file given on the command line
    return frame.run_main(build_parser(), argv, basic_config=logging.basicConfig, bad_input=bad_input)


if __name__ == "__main__":
    sys.exit(main())
