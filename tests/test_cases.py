"""Regression cases for ``fieldwatch-edge check``, one folder each (Telegraf's ``testcases/`` style).

``tests/cases/<name>/`` holds ``input.yaml`` (a profile or a site file; a site's local profiles live in its
``profiles/`` folder, found through ``profiles_dirs``) and ``expected.txt``:

    $ fieldwatch-edge check --profile input.yaml      <- the command, run inside the case folder
    exit 2                                            <- its exit status
    input.yaml:12: points[0].scael: unknown key ...   <- then stderr, line for line

Paths print relative to the case folder; the shipped profiles' folder prints as ``<hw_profiles>``.
After a deliberate change to the loader's messages, regenerate every expected.txt with
``FIELDWATCH_UPDATE_CASES=1 .venv/bin/pytest tests/test_cases.py`` and review the diff.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from edge.siteconfig import shipped_profiles_dir
from tests.cli_runner import run_cli

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(p for p in CASES_DIR.iterdir() if p.is_dir())
PROMPT = "$ fieldwatch-edge "
SHIPPED = "<hw_profiles>"


def test_every_case_folder_is_complete() -> None:
    assert CASES, "no regression cases found"
    for case in CASES:
        assert (case / "input.yaml").is_file(), f"{case.name} has no input.yaml"
        assert (case / "expected.txt").is_file(), f"{case.name} has no expected.txt"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_check_prints_what_the_case_expects(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    command = expected[0]
    assert command.startswith(PROMPT), f"{case.name}/expected.txt starts with '{PROMPT}ARGS'"
    monkeypatch.chdir(case)
    result = run_cli(shlex.split(command.removeprefix(PROMPT)))
    got = [
        command,
        f"exit {result.status}",
        *result.stderr.replace(shipped_profiles_dir(), SHIPPED).splitlines(),
    ]
    if os.environ.get("FIELDWATCH_UPDATE_CASES") == "1":
        (case / "expected.txt").write_text("\n".join(got) + "\n", encoding="utf-8")
    assert got == expected
