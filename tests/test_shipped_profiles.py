"""The shipped profiles, the example site files and the profile reference (``hw_profiles/README.md``).

Docs and data are one product here, as in sqlite-utils: every shipped profile loads and is listed in the
README's index, the example sites load with their profiles, and the README's worked example, site example
and pasted ``check`` output are re-run, so the reference cannot drift from what the loader does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from edge import cli
from edge.acquisition.modbus_plan import compile_device
from edge.siteconfig import load_profile, load_site
from protocols.config import parse_profile
from protocols.profile import ModbusProfile, Workarounds
from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parents[1]
PROFILES_DIR = ROOT / "hw_profiles"
README = PROFILES_DIR / "README.md"
EXAMPLES_DIR = ROOT / "deploy" / "examples"

PROFILES = sorted(PROFILES_DIR.glob("*.yaml"))
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
PROFILE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def fenced_block_after(marker: str, text: str) -> str:
    """The body of the first fenced code block after the line that contains ``<!-- example: marker``."""
    start = text.find(f"<!-- example: {marker}")
    assert start >= 0, f"README has no '<!-- example: {marker}' marker"
    match = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE).search(text, start)
    assert match is not None, f"no fenced block after the {marker!r} marker"
    return match.group(1)


def readme_index() -> set[str]:
    """Profile names in the first column of the README's "Profile index" table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Profile index", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.MULTILINE))


def test_enough_profiles_are_shipped() -> None:
    assert len(PROFILES) >= 12


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_shipped_profile_loads_and_is_named_by_its_file(path: Path) -> None:
    profile = load_profile(path)  # raises ConfigError with every issue
    assert profile.points
    assert PROFILE_NAME.match(path.stem), "profile files are lower_snake_case"
    assert profile.model == path.stem, "`model` repeats the file stem, which site files use as the name"


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_shipped_profile_is_documented_in_its_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), "a profile starts with a header comment: device class, datasheet, units"
    raw = yaml.safe_load(text)
    assert "poll_interval_ms" in raw, "choose the poll interval from the field's sampling practice"


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_workarounds_say_why(path: Path) -> None:
    profile = load_profile(path)
    if not isinstance(profile, ModbusProfile) or profile.modbus.workarounds == Workarounds():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("workarounds:"))
    context = lines[max(0, at - 4) : at + 3]
    assert any("#" in line for line in context), "a workaround needs a comment saying what happened"


def test_readme_index_lists_exactly_the_shipped_profiles() -> None:
    shipped = {p.stem for p in PROFILES}
    indexed = readme_index()
    assert shipped - indexed == set(), "add these profiles to the README's index"
    assert indexed - shipped == set(), "the README's index lists profiles that are not shipped"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_site_loads_with_its_profiles(path: Path) -> None:
    site = load_site(path)
    assert site.devices
    assert site.channels
    assert len(site.devices) == sum(len(bus.devices) for bus in site.site.buses)


def test_every_shipped_modbus_profile_compiles_into_read_plans(tmp_path: Path) -> None:
    """The acquisition's compiler accepts every map (sentinels that fit their type, fault flags, bits)."""
    modbus = [p.stem for p in PROFILES if isinstance(load_profile(p), ModbusProfile)]
    devices = [
        {"id": name.replace("_", "-"), "profile": name, "unit_id": i + 1} for i, name in enumerate(modbus)
    ]
    site_text = yaml.safe_dump(
        {
            "gateway": {"id": "gw-all"},
            "site": {"id": "all", "name": "all", "type": "other", "latitude_deg": 0, "longitude_deg": 0},
            "uplink": {"type": "http", "url": "http://127.0.0.1/"},
            "buses": [{"name": "all", "type": "tcp", "host": "127.0.0.1", "devices": devices}],
        }
    )
    (tmp_path / "site.yaml").write_text(site_text, encoding="utf-8")
    site = load_site(tmp_path / "site.yaml")
    index = site.channel_index()
    for device in site.devices:
        requests = compile_device(device, index, site.gateway_id)
        served = {name for r in requests for name in (*r.point_names, *(t.name for t in r.text_points))}
        assert served == set(device.profile.point_names()), device.profile_name


def test_examples_cover_the_three_site_types() -> None:
    types = {load_site(p).site.site.type for p in EXAMPLES}
    assert {"mine_slope", "tank_farm", "forest_tower"} <= types


def test_readme_worked_example_validates() -> None:
    text = fenced_block_after("worked-profile", README.read_text(encoding="utf-8"))
    profile = parse_profile(text, "README.md#worked-example")
    assert isinstance(profile, ModbusProfile)
    by_name = {p.name: p for p in profile.points}
    assert by_name["nh3"].address == 0  # the walk-through explains 40001 -> 0
    assert by_name["relay_1"].kind == "coil"


def test_readme_site_example_validates(tmp_path: Path) -> None:
    site_file = tmp_path / "site.yaml"
    site_file.write_text(fenced_block_after("site", README.read_text(encoding="utf-8")), encoding="utf-8")
    site = load_site(site_file)
    h2s = next(d for d in site.devices if d.device.id == "h2s-c01")
    rules = {r.rule_name: r for r in h2s.rules_for("h2s")}
    assert set(rules) == {"alarm", "rate"}, "the README says: replace, switch off, add"
    assert rules["alarm"].levels.yellow == 7  # type: ignore[union-attr]


def test_readme_check_output_is_what_check_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = README.read_text(encoding="utf-8")
    marker = re.search(r"<!-- example: broken-profile (\S+)", readme)
    assert marker is not None
    relative = marker.group(1)
    broken = tmp_path / relative
    broken.parent.mkdir(parents=True)
    broken.write_text(fenced_block_after("broken-profile ", readme), encoding="utf-8")
    shown = fenced_block_after("broken-profile-output", readme).splitlines()
    assert shown[0] == f"$ fieldwatch-edge check --profile {relative}"
    monkeypatch.chdir(tmp_path)
    result = run_cli(["check", "--profile", relative])
    assert result.status == cli.EXIT_BAD_INPUT
    assert result.stderr.splitlines() == shown[1:]
