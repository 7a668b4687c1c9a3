"""Run ``fieldwatch-edge`` in-process and capture what it prints, leaving the process as it found it.

``edge.cli.main`` configures logging for the process (it is the entry point); tests call it many times, so
the runner removes the handlers it added and restores the root level afterwards.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from edge import cli


@dataclass(frozen=True)
class CliResult:
    status: int
    stdout: str
    stderr: str


def run_cli(args: Sequence[str]) -> CliResult:
    """``fieldwatch-edge ARGS``: its exit status and everything it printed."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(list(args))
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    return CliResult(status, out.getvalue(), err.getvalue())
