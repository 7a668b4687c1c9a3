"""The frame the command lines share (``fieldwatch-edge``, ``fieldwatch-central``, ``fieldwatch-sim``).

``command_parser`` makes the parser with ``-v``/``--verbose`` (counted) and one subcommand per module of a
package (each with ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``); ``run_main``
parses, configures logging through the entry point's ``logging.basicConfig`` (protocols never imports
logging), runs the subcommand and maps the
outcome to the exit status: 0 success, 1 failure at run time, 2 bad input (the reason on stderr, never a
traceback), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from protocols.errors import ConfigError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# logging's WARNING, INFO and DEBUG for -v counted 0, 1, 2 or more (protocols imports no logging)
LOG_LEVELS = (30, 20, 10)


def log_level(verbosity: int) -> int:
    return LOG_LEVELS[min(verbosity, len(LOG_LEVELS) - 1)]


Subcommands = argparse._SubParsersAction  # what ``add_subparsers`` returns (argparse names it privately)


def command_parser(
    prog: str, description: str
) -> tuple[argparse.ArgumentParser, Subcommands[argparse.ArgumentParser]]:
    """A parser with ``-v`` and its (required) subcommands, to which the caller adds its commands."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    return parser, parser.add_subparsers(dest="command", required=True, metavar="COMMAND")


def add_command_modules(
    sub: Subcommands[argparse.ArgumentParser], package: str, names: Sequence[str]
) -> None:
    """One subcommand per module ``package.name``: its ``NAME``, ``HELP``, ``add_arguments`` and ``run``."""
    for name in names:
        module = importlib.import_module(f"{package}.{name}")
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(run=module.run)


def run_main(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    *,
    basic_config: Callable[..., None],
    bad_input: tuple[type[Exception], ...],
    explain: Callable[[Exception], str] | None = None,
) -> int:
    """Parse ``argv``, configure logging for ``-v`` through the entry point's ``logging.basicConfig``
    (passed in: protocols never imports logging), run the chosen subcommand (``args.run``)."""
    args = parser.parse_args(argv)
    basic_config(level=log_level(args.verbose), format=LOG_FORMAT, stream=sys.stderr)
    try:
        return int(args.run(args))
    except bad_input as e:
        print((explain or _explain)(e), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _explain(e: Exception) -> str:
    """A config error lists every problem and counts them; any other error is its message."""
    return e.report() if isinstance(e, ConfigError) else str(e)
