"""Units: the list the loader accepts is the README's list, and a near miss gets a unit of its quantity."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from protocols.units import UNITS, suggest_unit

README = Path(__file__).resolve().parents[2] / "hw_profiles" / "README.md"


def readme_units() -> list[str]:
    section = README.read_text(encoding="utf-8").split("### Units", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| ")][1:]  # no header
    listed = [u for row in rows for u in re.findall(r"`([^`]*)`", row[2])]
    return ["" if u == '""' else u for u in listed]


def test_the_readme_lists_exactly_the_units_the_loader_accepts() -> None:
    listed = readme_units()
    assert len(listed) == len(set(listed)), "a unit is listed twice"
    assert set(listed) == set(UNITS)


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("mm/minute", ["mm/min"]),  # a rate: never mm/m, millimetres per metre
        ("mm/mn", ["mm/min"]),
        ("m3/hr", ["m3/h"]),
        ("L/minute", ["L/min"]),
        ("mm/hr", ["mm/h"]),
        ("mm/sec", ["mm/s"]),
        ("meter/hour", ["m/h"]),
        ("mmm/min", ["mm/min"]),
        ("m3/s", ["m3/min", "m3/h"]),  # no m3/s: the same amount over the other time bases
        ("kg/h", []),  # no rate of a mass like kg: nothing rather than km/h, a speed
        ("ppm/min", []),
        ("PPM", ["ppm"]),
        ("%lel", ["%LEL"]),
        ("metre", ["m"]),
        ("℃", ["degC"]),
        ("hours", ["h"]),
        ("mmm", ["mm"]),
    ],
)
def test_a_suggestion_keeps_the_quantity(written: str, meant: list[str]) -> None:
    assert suggest_unit(written) == meant


def test_per_minute_rates_are_units() -> None:
    assert {"mm/min", "m/min", "m3/min", "L/min"} <= set(UNITS)
