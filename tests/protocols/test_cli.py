"""The command lines' shared frame: subcommands, -v, and exit statuses for each way a command ends."""

from __future__ import annotations

import argparse

import pytest

from protocols.cli import EXIT_BAD_INPUT, EXIT_INTERRUPTED, command_parser, log_level, run_main
from protocols.errors import ConfigError, ConfigIssue


def frame(outcome: BaseException | int) -> tuple[argparse.ArgumentParser, list[int]]:
    """A parser with one subcommand, ``act``, that ends with ``outcome``; and the log levels set."""

    def act(_: argparse.Namespace) -> int:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    parser, sub = command_parser("fieldwatch-test", "a test")
    sub.add_parser("act").set_defaults(run=act)
    return parser, []


def test_the_command_status_and_the_verbosity_pass_through() -> None:
    parser, levels = frame(7)
    assert (
        run_main(
            parser,
            ["-vv", "act"],
            basic_config=lambda **kw: levels.append(kw["level"]),
            bad_input=(ConfigError,),
        )
        == 7
    )
    assert levels == [10]
    assert [log_level(n) for n in (0, 1, 2, 5)] == [30, 20, 10, 10]


def test_bad_input_is_status_2_with_every_problem_and_no_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    issues = [ConfigIssue("site.yaml", 3, "buses[0].port", "missing"), ConfigIssue("site.yaml", 9, "", "bad")]
    parser, levels = frame(ConfigError(issues))
    assert (
        run_main(
            parser, ["act"], basic_config=lambda **kw: levels.append(kw["level"]), bad_input=(ConfigError,)
        )
        == EXIT_BAD_INPUT
    )
    err = capsys.readouterr().err
    assert err.splitlines() == ["site.yaml:3: buses[0].port: missing", "site.yaml:9: bad", "2 problems found"]


def test_ctrl_c_is_status_130_and_other_errors_propagate() -> None:
    parser, levels = frame(KeyboardInterrupt())
    assert (
        run_main(
            parser, ["act"], basic_config=lambda **kw: levels.append(kw["level"]), bad_input=(ConfigError,)
        )
        == EXIT_INTERRUPTED
    )
    parser, levels = frame(RuntimeError("a bug"))
    with pytest.raises(RuntimeError, match="a bug"):
        run_main(
            parser, ["act"], basic_config=lambda **kw: levels.append(kw["level"]), bad_input=(ConfigError,)
        )
