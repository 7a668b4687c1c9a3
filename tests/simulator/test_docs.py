"""The docs and the command lines are one product: every command and option is documented."""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator import cli as sim_cli
from simulator.demo import cli as demo_cli

DOCS = Path(__file__).resolve().parents[2] / "docs"


def options(parser: argparse.ArgumentParser) -> set[str]:
    found = {s for action in parser._actions for s in action.option_strings if s.startswith("--")}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.add(name)
                found |= options(sub)
    return found - {"--help"}


def test_every_fieldwatch_demo_option_is_in_docs_demo() -> None:
    text = (DOCS / "demo.md").read_text()
    missing = sorted(o for o in options(demo_cli.build_parser()) if f"`{o}" not in text)
    assert not missing, f"docs/demo.md does not mention {missing}"


def test_every_fieldwatch_sim_command_and_option_is_in_docs_simulator() -> None:
    text = (DOCS / "simulator.md").read_text()
    missing = sorted(o for o in options(sim_cli.build_parser()) - {"--verbose"} if o not in text)
    assert not missing, f"docs/simulator.md does not mention {missing}"
